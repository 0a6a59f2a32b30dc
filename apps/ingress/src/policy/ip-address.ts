// Textual IP addresses as numbers, and back: the strict parsing that network
// lists and PROXY protocol headers share. IPv4 as an unsigned 32-bit number,
// IPv6 as a 128-bit bigint.
//
// Does not: accept zone identifiers ("fe80::1%eth0": callers strip them where
// a socket may report one), prefixes, leading zeros in IPv4 octets (they read
// as octal in some stacks), shortened IPv4 forms ("127.1") or hexadecimal
// octets; resolve names.
//
// RFC 4291 §2.2 (IPv6 text forms), §2.5.5.2 (IPv4-mapped addresses),
// RFC 5952 §4-5 (canonical IPv6 text), HAProxy proxy-protocol.txt §2.1 (no
// leading zeros in IPv4 octets).

/** The IPv4 address "a.b.c.d", four decimal octets without leading zeros: its value, or -1. */
export function parseIPv4(text: string): number {
  let value = 0;
  let i = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (text.charCodeAt(i) !== DOT) return -1;
      i += 1;
    }
    const start = i;
    let n = 0;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c < ZERO || c > NINE) break;
      n = n * 10 + (c - ZERO);
      i += 1;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || n > 255) return -1;
    if (digits > 1 && text.charCodeAt(start) === ZERO) return -1;
    value = value * 256 + n;
  }
  return i === text.length ? value : -1;
}

/** "a.b.c.d" for a 32-bit value. */
export function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/**
 * An IPv6 address in any RFC 4291 §2.2 text form (groups of 1-4 hex digits,
 * at most one "::", an optional dotted IPv4 tail): its value, or null.
 */
export function parseIPv6(text: string): bigint | null {
  if (text.length < 2 || text.length > 45) return null;
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return null;
  const head = gap < 0 ? text : text.slice(0, gap);
  const tail = gap < 0 ? '' : text.slice(gap + 2);
  const left = groups(head, gap < 0);
  const right = groups(tail, true);
  if (left === null || right === null) return null;
  const written = left.length + right.length;
  // "::" stands for one or more zero groups (RFC 4291 §2.2 item 2).
  if (gap < 0 ? written !== 8 : written > 7) return null;
  let value = 0n;
  for (const g of left) value = (value << 16n) | BigInt(g);
  value <<= BigInt(16 * (8 - left.length));
  let low = 0n;
  for (const g of right) low = (low << 16n) | BigInt(g);
  return value | low;
}

/** Bytes 0..15 of `buffer` from `offset` as a 128-bit value. */
export function readIPv6(buffer: Uint8Array, offset: number): bigint {
  let value = 0n;
  for (let k = 0; k < 16; k += 4) {
    const word =
      ((buffer[offset + k]! << 24) |
        (buffer[offset + k + 1]! << 16) |
        (buffer[offset + k + 2]! << 8) |
        buffer[offset + k + 3]!) >>>
      0;
    value = (value << 32n) | BigInt(word);
  }
  return value;
}

/** The first address of ::ffff:0:0/96, the IPv4-mapped IPv6 addresses (RFC 4291 §2.5.5.2). */
export const MAPPED_IPV4_BASE = 0xffff_0000_0000n;
export const MAPPED_IPV4_LAST = 0xffff_ffff_ffffn;

/** The IPv4 address inside an IPv4-mapped IPv6 address, or -1 for any other. */
export function unmapIPv4(value: bigint): number {
  return value >= MAPPED_IPV4_BASE && value <= MAPPED_IPV4_LAST
    ? Number(value - MAPPED_IPV4_BASE)
    : -1;
}

/**
 * RFC 5952 text: lower-case hex without leading zeros, the longest run of two
 * or more zero groups (the first of equal runs) as "::", and IPv4-mapped
 * addresses in the mixed form "::ffff:192.0.2.1" (§5), as Node's sockets
 * report them.
 */
export function formatIPv6(value: bigint): string {
  const v4 = unmapIPv4(value);
  if (v4 >= 0) return `::ffff:${formatIPv4(v4)}`;
  const g: number[] = [];
  for (let k = 7; k >= 0; k--) g.push(Number((value >> BigInt(16 * k)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let k = 0; k < 8;) {
    if (g[k] !== 0) {
      k += 1;
      continue;
    }
    let end = k;
    while (end < 8 && g[end] === 0) end += 1;
    if (end - k > bestLength) {
      bestStart = k;
      bestLength = end - k;
    }
    k = end;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** "h:h:…" (an IPv4 tail allowed last when `v4Last`) as 16-bit groups, or null. */
function groups(part: string, v4Last: boolean): number[] | null {
  if (part === '') return [];
  const pieces = part.split(':');
  const out: number[] = [];
  for (let k = 0; k < pieces.length; k++) {
    const p = pieces[k]!;
    if (HEX_GROUP.test(p)) {
      out.push(parseInt(p, 16));
    } else if (v4Last && k === pieces.length - 1 && p.includes('.')) {
      const v4 = parseIPv4(p);
      if (v4 < 0) return null;
      out.push(v4 >>> 16, v4 & 0xffff);
    } else {
      return null;
    }
  }
  return out;
}
