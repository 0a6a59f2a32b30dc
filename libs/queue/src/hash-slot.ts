// The Redis Cluster hash slot of a key (the Cluster specification, "Keys
// distribution model"): CRC16 (XMODEM: polynomial 0x1021, initial 0) of the
// key's hash tag, the part between the first "{" and the next "}" when that
// part is not empty, else of the whole key; modulo 16384.
//
// Every key of a Petrel prefix starts with the prefix, whose hash tag
// ({petrel}) therefore gives the slot of all of them.

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[byte] = crc & 0xffff;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/** The slot (0..16383) that Redis Cluster keeps `key` in. */
export function hashSlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b); // {
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) & 0x3fff;
  }
  return crc16(bytes) & 0x3fff;
}
