// The PROXY protocol header a load balancer sends before the first SMTP byte,
// versions 1 (text) and 2 (binary), parsed sans-I/O: the host hands over what
// it has read so far and gets 'need-more', 'invalid' (close the connection) or
// 'ok' with the number of octets the header took; the octets after them are
// the client's SMTP input and are left untouched.
//
// Strict on purpose: a connection from a configured load balancer that does
// not start with a well-formed header is closed, never read as SMTP, so that
// the relay decision always sees the real client. v1: exactly one space
// between fields, addresses of the announced family in canonical form with no
// leading zeros, ports 0-65535 without leading zeros, CRLF within 107 octets.
// v2: version 2, command LOCAL or PROXY, one of the seven family/transport
// bytes the spec lists, length within PROXY_V2_MAX_LENGTH, TLVs well-formed.
// An invalid prefix is reported as soon as it is seen ("EHLO" fails at "E").
//
// source and destination are null when the proxy names no client: v1
// "UNKNOWN", v2 LOCAL (the proxy's own health check) and v2 PROXY with
// AF_UNSPEC. The host then only knows the proxy's own address, which must
// never earn relay permission by being in a trusted network.
//
// Does not: accept AF_UNIX or UDP (SMTP runs over TCP), interpret TLVs (ALPN,
// authority, SSL, unique id are skipped; a CRC32C TLV is not verified), read
// sockets, or decide which peers may send a header (the listener checks the
// peer against its load-balancer list before calling this).
//
// HAProxy's proxy-protocol.txt: §2.1 (v1), §2.2 (v2), §2.2.x (TLVs), §9
// (detecting the version).

import { formatIPv4, formatIPv6, parseIPv4, parseIPv6, readIPv6 } from './ip-address.js';

export type ProxyEndpoint = { address: string; port: number };

export type ProxyParse =
  | { kind: 'need-more' }
  | { kind: 'invalid'; message: string }
  | {
      kind: 'ok';
      /** Octets of the header; the SMTP stream starts at buffer[consumed]. */
      consumed: number;
      /** The client as the proxy saw it; null for LOCAL/UNKNOWN/UNSPEC. */
      source: ProxyEndpoint | null;
      /** The address the client connected to; null when source is. */
      destination: ProxyEndpoint | null;
      version: 1 | 2;
    };

/** §2.1: the longest v1 line, CRLF included. */
export const PROXY_V1_MAX_LENGTH = 107;

/**
 * The largest v2 length field accepted (the octets after the 16-octet fixed
 * part): room for IPv6 addresses and a generous set of TLVs, not 64 KiB.
 */
export const PROXY_V2_MAX_LENGTH = 4096;

/**
 * Parses the PROXY header at the start of `buffer`. need-more until the whole
 * header is there; the host closes the connection if it never arrives.
 */
export function parseProxyHeader(buffer: Buffer): ProxyParse {
  if (buffer.length === 0) return NEED_MORE;
  if (buffer[0] === V2_SIGNATURE[0]) return parseV2(buffer);
  if (buffer[0] === V1_PREFIX[0]) return parseV1(buffer);
  return invalid('not a PROXY protocol header');
}

// --- version 1 ---------------------------------------------------------------

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const CR = 0x0d;
const LF = 0x0a;
const PORT = /^(0|[1-9][0-9]{0,4})$/;

function parseV1(buffer: Buffer): ProxyParse {
  const n = buffer.length;
  for (let i = 0; i < V1_PREFIX.length && i < n; i++) {
    if (buffer[i] !== V1_PREFIX[i]) return invalid('not a PROXY protocol header');
  }
  const limit = Math.min(n, PROXY_V1_MAX_LENGTH);
  let lf = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    const c = buffer[i]!;
    if (c === LF) {
      if (buffer[i - 1] !== CR) return invalid('v1 header line ends in a bare LF');
      lf = i;
      break;
    }
    if (c === CR) {
      if (i + 1 < n && buffer[i + 1] !== LF) return invalid('v1 header holds a bare CR');
      continue;
    }
    if (c < 0x20 || c > 0x7e) return invalid('v1 header holds a control or non-ASCII octet');
  }
  if (lf < 0) {
    return n >= PROXY_V1_MAX_LENGTH
      ? invalid('v1 header without CRLF within 107 octets')
      : NEED_MORE;
  }
  const line = buffer.toString('latin1', 0, lf - 1);
  const consumed = lf + 1;

  // §2.1: after "UNKNOWN" the receiver ignores the rest of the line.
  if (line === 'PROXY UNKNOWN' || line.startsWith('PROXY UNKNOWN ')) {
    return { kind: 'ok', consumed, source: null, destination: null, version: 1 };
  }
  const fields = line.split(' ');
  const protocol = fields[1];
  if (protocol !== 'TCP4' && protocol !== 'TCP6') {
    return invalid('v1 protocol is not TCP4, TCP6 or UNKNOWN');
  }
  if (fields.length !== 6)
    return invalid('v1 header needs exactly four fields after the protocol, one space apart');
  const [, , srcText, dstText, sportText, dportText] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const src = v1Address(srcText, protocol);
  const dst = v1Address(dstText, protocol);
  if (src === null || dst === null)
    return invalid(`v1 address is not an ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} address`);
  const sport = v1Port(sportText);
  const dport = v1Port(dportText);
  if (sport < 0 || dport < 0)
    return invalid('v1 port is not a number from 0 to 65535 without leading zeros');
  return {
    kind: 'ok',
    consumed,
    source: { address: src, port: sport },
    destination: { address: dst, port: dport },
    version: 1,
  };
}

function v1Address(text: string, protocol: 'TCP4' | 'TCP6'): string | null {
  if (protocol === 'TCP4') {
    const v = parseIPv4(text);
    return v < 0 ? null : formatIPv4(v);
  }
  const v = parseIPv6(text);
  return v === null ? null : formatIPv6(v);
}

function v1Port(text: string): number {
  if (!PORT.test(text)) return -1;
  const n = Number(text);
  return n <= 65535 ? n : -1;
}

// --- version 2 ---------------------------------------------------------------

const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V2_FIXED = 16;
const CMD_LOCAL = 0x0;
const CMD_PROXY = 0x1;
// §2.2: the family/transport bytes a sender may emit; any other is invalid.
const UNSPEC = 0x00;
const TCP4 = 0x11;
const UDP4 = 0x12;
const TCP6 = 0x21;
const UDP6 = 0x22;
const UNIX_STREAM = 0x31;
const UNIX_DGRAM = 0x32;
const KNOWN_FAMILIES = new Set([UNSPEC, TCP4, UDP4, TCP6, UDP6, UNIX_STREAM, UNIX_DGRAM]);

function parseV2(buffer: Buffer): ProxyParse {
  const n = buffer.length;
  for (let i = 0; i < V2_SIGNATURE.length && i < n; i++) {
    if (buffer[i] !== V2_SIGNATURE[i]) return invalid('not a PROXY protocol header');
  }
  if (n <= 12) return NEED_MORE;
  const verCmd = buffer[12]!;
  if (verCmd >> 4 !== 2) return invalid('v2 header with a version other than 2');
  const command = verCmd & 0x0f;
  if (command !== CMD_LOCAL && command !== CMD_PROXY)
    return invalid('v2 command is neither LOCAL nor PROXY');
  if (n <= 13) return NEED_MORE;
  const family = buffer[13]!;
  if (!KNOWN_FAMILIES.has(family))
    return invalid('v2 address family or transport is not one the spec defines');
  if (command === CMD_PROXY) {
    if (family === UNIX_STREAM || family === UNIX_DGRAM)
      return invalid('v2 AF_UNIX is refused: SMTP clients connect over TCP');
    if (family === UDP4 || family === UDP6)
      return invalid('v2 UDP is refused: SMTP clients connect over TCP');
  }
  if (n < V2_FIXED) return NEED_MORE;
  const length = buffer.readUInt16BE(14);
  if (length > PROXY_V2_MAX_LENGTH)
    return invalid(`v2 header longer than ${PROXY_V2_MAX_LENGTH} octets`);
  const addressLength = command === CMD_LOCAL ? 0 : family === TCP4 ? 12 : family === TCP6 ? 36 : 0;
  if (length < addressLength) return invalid('v2 length too short for its addresses');
  const consumed = V2_FIXED + length;
  if (n < consumed) return NEED_MORE;

  // §2.2: LOCAL discards the block, family included; PROXY/UNSPEC names no client.
  if (command === CMD_LOCAL || family === UNSPEC) {
    return { kind: 'ok', consumed, source: null, destination: null, version: 2 };
  }
  if (!tlvsWellFormed(buffer, V2_FIXED + addressLength, consumed)) {
    return invalid('v2 TLVs overrun the header length');
  }
  const at = V2_FIXED;
  let source: ProxyEndpoint;
  let destination: ProxyEndpoint;
  if (family === TCP4) {
    source = { address: formatIPv4(buffer.readUInt32BE(at)), port: buffer.readUInt16BE(at + 8) };
    destination = {
      address: formatIPv4(buffer.readUInt32BE(at + 4)),
      port: buffer.readUInt16BE(at + 10),
    };
  } else {
    source = { address: formatIPv6(readIPv6(buffer, at)), port: buffer.readUInt16BE(at + 32) };
    destination = {
      address: formatIPv6(readIPv6(buffer, at + 16)),
      port: buffer.readUInt16BE(at + 34),
    };
  }
  return { kind: 'ok', consumed, source, destination, version: 2 };
}

/** §2.2: type (1), length (2, big-endian), value: laid end to end, filling [start, end) exactly. */
function tlvsWellFormed(buffer: Buffer, start: number, end: number): boolean {
  let at = start;
  while (at < end) {
    if (end - at < 3) return false;
    at += 3 + buffer.readUInt16BE(at + 1);
  }
  return at === end;
}

// --- results -----------------------------------------------------------------

const NEED_MORE: ProxyParse = Object.freeze({ kind: 'need-more' });

function invalid(message: string): ProxyParse {
  return { kind: 'invalid', message };
}
