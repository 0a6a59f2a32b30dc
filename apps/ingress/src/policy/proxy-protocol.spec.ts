import { describe, expect, it } from 'vitest';
import { parseProxyHeader, PROXY_V2_MAX_LENGTH, type ProxyParse } from './proxy-protocol.js';

// Version 2 headers are written out byte by byte from proxy-protocol.txt §2.2.
const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const be16 = (n: number): number[] => [n >> 8, n & 0xff];

function v2(
  verCmd: number,
  family: number,
  block: readonly number[],
  length = block.length,
): Buffer {
  return Buffer.from([...SIG, verCmd, family, ...be16(length), ...block]);
}

// 192.0.2.1:51234 -> 198.51.100.7:25
const INET_BLOCK = [192, 0, 2, 1, 198, 51, 100, 7, ...be16(51234), ...be16(25)];
// 2001:db8::1:51234 -> 2001:db8::25:587
const INET6_BLOCK = [
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01,
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x25,
  ...be16(51234), ...be16(587),
]; // prettier-ignore
// ::ffff:203.0.113.9:40000 -> ::ffff:10.0.0.5:25
const MAPPED_BLOCK = [
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 9,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 5,
  ...be16(40000), ...be16(25),
]; // prettier-ignore
// TLVs: ALPN "smtp", NOOP padding of 3 zero octets, AUTHORITY "mx.test", an SSL TLV with a version sub-TLV.
const TLVS = [
  0x01, ...be16(4), ...Buffer.from('smtp'),
  0x04, ...be16(3), 0, 0, 0,
  0x02, ...be16(7), ...Buffer.from('mx.test'),
  0x20, ...be16(5 + 3 + 7), 0x01, 0, 0, 0, 0, 0x21, ...be16(7), ...Buffer.from('TLSv1.3'),
]; // prettier-ignore
const UNIX_BLOCK = new Array<number>(216).fill(0);

const from = (address: string, port: number) => ({ address, port });

// [name, header, source, destination, version]
const VALID: readonly (readonly [string, Buffer, ReturnType<typeof from> | null, ReturnType<typeof from> | null, 1 | 2])[] = [
  ['v1 TCP4', Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.7 51234 25\r\n'), from('192.0.2.1', 51234), from('198.51.100.7', 25), 1],
  ['v1 TCP4 ports 0 and 65535', Buffer.from('PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n'), from('0.0.0.0', 0), from('255.255.255.255', 65535), 1],
  ['v1 TCP6', Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::25 51234 587\r\n'), from('2001:db8::1', 51234), from('2001:db8::25', 587), 1],
  ['v1 TCP6 full form, upper case', Buffer.from('PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0001 ::1 1 2\r\n'), from('2001:db8::1', 1), from('::1', 2), 1],
  ['v1 TCP6 IPv4-mapped', Buffer.from('PROXY TCP6 ::ffff:203.0.113.9 ::ffff:10.0.0.5 40000 25\r\n'), from('::ffff:203.0.113.9', 40000), from('::ffff:10.0.0.5', 25), 1],
  ['v1 TCP6 longest', Buffer.from(`PROXY TCP6 ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`), from('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 65535), from('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 65535), 1],
  ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN\r\n'), null, null, 1],
  ['v1 UNKNOWN with addresses', Buffer.from('PROXY UNKNOWN 192.0.2.1 198.51.100.7 51234 25\r\n'), null, null, 1],
  ['v1 UNKNOWN, 107 octets', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(91)}\r\n`), null, null, 1],
  ['v2 PROXY TCP4', v2(0x21, 0x11, INET_BLOCK), from('192.0.2.1', 51234), from('198.51.100.7', 25), 2],
  ['v2 PROXY TCP6', v2(0x21, 0x21, INET6_BLOCK), from('2001:db8::1', 51234), from('2001:db8::25', 587), 2],
  ['v2 PROXY TCP6 IPv4-mapped', v2(0x21, 0x21, MAPPED_BLOCK), from('::ffff:203.0.113.9', 40000), from('::ffff:10.0.0.5', 25), 2],
  ['v2 PROXY TCP4 with TLVs', v2(0x21, 0x11, [...INET_BLOCK, ...TLVS]), from('192.0.2.1', 51234), from('198.51.100.7', 25), 2],
  ['v2 PROXY TCP6 with TLVs', v2(0x21, 0x21, [...INET6_BLOCK, ...TLVS]), from('2001:db8::1', 51234), from('2001:db8::25', 587), 2],
  ['v2 PROXY TCP4 with an empty TLV', v2(0x21, 0x11, [...INET_BLOCK, 0x04, 0, 0]), from('192.0.2.1', 51234), from('198.51.100.7', 25), 2],
  ['v2 LOCAL', v2(0x20, 0x00, []), null, null, 2],
  ['v2 LOCAL with an address block', v2(0x20, 0x11, INET_BLOCK), null, null, 2],
  ['v2 LOCAL with AF_UNIX', v2(0x20, 0x31, UNIX_BLOCK), null, null, 2],
  ['v2 LOCAL with odd trailing octets', v2(0x20, 0x00, [1, 2]), null, null, 2],
  ['v2 PROXY UNSPEC', v2(0x21, 0x00, [1, 2, 3, 4]), null, null, 2],
  ['v2 at the length limit', v2(0x21, 0x11, [...INET_BLOCK, 0x04, ...be16(PROXY_V2_MAX_LENGTH - 15), ...new Array<number>(PROXY_V2_MAX_LENGTH - 15).fill(0)]), from('192.0.2.1', 51234), from('198.51.100.7', 25), 2],
]; // prettier-ignore

const SMTP = Buffer.from('EHLO client.test\r\nMAIL FROM:<a@b.test>\r\n');

describe('parseProxyHeader: valid headers', () => {
  it.each(VALID)('%s', (_name, header, source, destination, version) => {
    const input = Buffer.concat([header, SMTP]);
    const r = parseProxyHeader(input);
    expect(r).toEqual({ kind: 'ok', consumed: header.length, source, destination, version });
    if (r.kind !== 'ok') return;
    // The octets after the header are the client's, untouched.
    expect(input.subarray(r.consumed).equals(SMTP)).toBe(true);
    // The header alone, nothing after it, parses the same.
    expect(parseProxyHeader(header)).toEqual(r);
  });

  it.each(VALID)('%s: need-more at every split', (_name, header) => {
    for (let cut = 0; cut < header.length; cut++) {
      expect(parseProxyHeader(header.subarray(0, cut)), `cut at ${cut}`).toEqual({
        kind: 'need-more',
      });
    }
  });

  it('leaves the input buffer unchanged', () => {
    const input = Buffer.concat([v2(0x21, 0x11, [...INET_BLOCK, ...TLVS]), SMTP]);
    const copy = Buffer.from(input);
    parseProxyHeader(input);
    expect(input.equals(copy)).toBe(true);
  });
});

const invalid = (message: RegExp) => ({ kind: 'invalid', message: expect.stringMatching(message) });

describe('parseProxyHeader: not a PROXY header', () => {
  it.each([
    ['EHLO x\r\n', 'EHLO x\r\n'],
    ['HELO', 'HELO'],
    ['empty lines', '\r\n\r\n\r\n'],
    ['HTTP', 'GET / HTTP/1.1\r\n'],
    ['lower-case proxy', 'proxy TCP4 192.0.2.1 198.51.100.7 51234 25\r\n'],
    ['PROXY without its space', 'PROXY\r\n'],
    ['PROXYTCP4', 'PROXYTCP4 192.0.2.1 198.51.100.7 51234 25\r\n'],
    ['a space first', ' PROXY TCP4 192.0.2.1 198.51.100.7 51234 25\r\n'],
  ])('%s', (_name, text) => {
    expect(parseProxyHeader(Buffer.from(text))).toEqual(invalid(/not a PROXY protocol header/));
  });

  it('an empty line could still become a v2 signature', () => {
    expect(parseProxyHeader(Buffer.from('\r\n'))).toEqual({ kind: 'need-more' });
  });

  it('a TLS ClientHello', () => {
    expect(parseProxyHeader(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]))).toEqual(
      invalid(/not a PROXY/),
    );
  });

  it('is told at the first wrong octet, without waiting for a line', () => {
    expect(parseProxyHeader(Buffer.from('E'))).toEqual(invalid(/not a PROXY/));
    expect(parseProxyHeader(Buffer.from('PROXZ'))).toEqual(invalid(/not a PROXY/));
    expect(parseProxyHeader(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x01]))).toEqual(
      invalid(/not a PROXY/),
    );
    expect(parseProxyHeader(Buffer.from('\r\nQUIT\r\n'))).toEqual(invalid(/not a PROXY/));
  });
});

describe('parseProxyHeader: malformed v1', () => {
  const A = '192.0.2.1 198.51.100.7';
  it.each([
    ['bare LF', `PROXY TCP4 ${A} 51234 25\n`, /bare LF/],
    ['bare CR', `PROXY TCP4 ${A} 51234 25\r\r\n`, /bare CR/],
    ['CR inside', `PROXY TCP4 ${A}\r 51234 25\r\n`, /bare CR/],
    ['tab', `PROXY TCP4\t${A} 51234 25\r\n`, /control/],
    ['NUL', `PROXY TCP4 ${A} 51234 25\0\r\n`, /control/],
    ['non-ASCII', `PROXY TCP4 ${A} 51234 25é\r\n`, /non-ASCII/],
    ['two spaces', `PROXY TCP4  ${A} 51234 25\r\n`, /exactly four fields/],
    ['trailing space', `PROXY TCP4 ${A} 51234 25 \r\n`, /exactly four fields/],
    ['missing port', `PROXY TCP4 ${A} 51234\r\n`, /exactly four fields/],
    ['extra field', `PROXY TCP4 ${A} 51234 25 7\r\n`, /exactly four fields/],
    ['no protocol', 'PROXY \r\n', /protocol/],
    ['unknown protocol', `PROXY TCP5 ${A} 51234 25\r\n`, /protocol/],
    ['lower-case protocol', `PROXY tcp4 ${A} 51234 25\r\n`, /protocol/],
    ['UNKNOWN glued', 'PROXY UNKNOWNX\r\n', /protocol/],
    ['UDP4', `PROXY UDP4 ${A} 51234 25\r\n`, /protocol/],
    ['leading zero in an octet', 'PROXY TCP4 192.0.2.01 198.51.100.7 51234 25\r\n', /IPv4/],
    ['octet over 255', 'PROXY TCP4 192.0.2.256 198.51.100.7 51234 25\r\n', /IPv4/],
    ['three octets', 'PROXY TCP4 192.0.2 198.51.100.7 51234 25\r\n', /IPv4/],
    ['a name', 'PROXY TCP4 localhost 198.51.100.7 51234 25\r\n', /IPv4/],
    ['IPv6 in TCP4', 'PROXY TCP4 2001:db8::1 198.51.100.7 51234 25\r\n', /IPv4/],
    ['IPv4 in TCP6', `PROXY TCP6 ${A} 51234 25\r\n`, /IPv6/],
    ['zone in TCP6', 'PROXY TCP6 fe80::1%eth0 ::1 51234 25\r\n', /IPv6/],
    ['two :: in TCP6', 'PROXY TCP6 1::2::3 ::1 51234 25\r\n', /IPv6/],
    ['nine groups', 'PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 51234 25\r\n', /IPv6/],
    ['port 65536', `PROXY TCP4 ${A} 65536 25\r\n`, /port/],
    ['port with a leading zero', `PROXY TCP4 ${A} 51234 025\r\n`, /port/],
    ['signed port', `PROXY TCP4 ${A} +51234 25\r\n`, /port/],
    ['negative port', `PROXY TCP4 ${A} -1 25\r\n`, /port/],
    ['hex port', `PROXY TCP4 ${A} 0x19 25\r\n`, /port/],
    ['six-digit port', `PROXY TCP4 ${A} 100000 25\r\n`, /port/],
    ['108 octets', `PROXY UNKNOWN ${'x'.repeat(92)}\r\n`, /107/],
    ['no CRLF in 107 octets', `PROXY UNKNOWN ${'x'.repeat(200)}`, /107/],
  ])('%s', (_name, text, message) => {
    expect(parseProxyHeader(Buffer.from(text, 'utf8'))).toEqual(invalid(message));
  });

  it('waits while 106 octets hold no CRLF, refuses at 107', () => {
    const long = Buffer.from(`PROXY UNKNOWN ${'x'.repeat(200)}`);
    expect(parseProxyHeader(long.subarray(0, 106))).toEqual({ kind: 'need-more' });
    expect(parseProxyHeader(long.subarray(0, 107))).toEqual(invalid(/107/));
  });
});

describe('parseProxyHeader: malformed v2', () => {
  it.each([
    ['version 1', v2(0x11, 0x11, INET_BLOCK), /version/],
    ['version 3', v2(0x31, 0x11, INET_BLOCK), /version/],
    ['command 2', v2(0x22, 0x11, INET_BLOCK), /command/],
    ['command 15', v2(0x2f, 0x11, INET_BLOCK), /command/],
    ['family 4', v2(0x21, 0x41, INET_BLOCK), /family/],
    ['transport 3', v2(0x21, 0x13, INET_BLOCK), /family/],
    ['AF_INET without transport', v2(0x21, 0x10, INET_BLOCK), /family/],
    ['UNSPEC family with STREAM', v2(0x21, 0x01, INET_BLOCK), /family/],
    ['LOCAL with an unknown family', v2(0x20, 0x41, []), /family/],
    ['AF_UNIX stream', v2(0x21, 0x31, UNIX_BLOCK), /AF_UNIX/],
    ['AF_UNIX datagram', v2(0x21, 0x32, UNIX_BLOCK), /AF_UNIX/],
    ['UDP over IPv4', v2(0x21, 0x12, INET_BLOCK), /UDP/],
    ['UDP over IPv6', v2(0x21, 0x22, INET6_BLOCK), /UDP/],
    ['TCP4 block too short', v2(0x21, 0x11, INET_BLOCK.slice(0, 11)), /too short/],
    ['TCP6 block too short', v2(0x21, 0x21, INET6_BLOCK.slice(0, 35)), /too short/],
    ['TCP4 with no block', v2(0x21, 0x11, []), /too short/],
    ['over the length limit', v2(0x21, 0x11, [], PROXY_V2_MAX_LENGTH + 1), /longer than/],
    ['the largest length field', v2(0x21, 0x11, [], 0xffff), /longer than/],
    ['a partial TLV header', v2(0x21, 0x11, [...INET_BLOCK, 0x04, 0]), /TLV/],
    [
      'a TLV longer than the header',
      v2(0x21, 0x11, [...INET_BLOCK, 0x04, ...be16(4), 0, 0, 0]),
      /TLV/,
    ],
    ['a TLV then a stray octet', v2(0x21, 0x11, [...INET_BLOCK, 0x04, ...be16(0), 0x01]), /TLV/],
  ])('%s', (_name, buffer, message) => {
    expect(parseProxyHeader(buffer)).toEqual(invalid(message));
  });

  it('refuses a bad fixed part before the addresses arrive', () => {
    expect(parseProxyHeader(v2(0x11, 0x11, INET_BLOCK).subarray(0, 13))).toEqual(
      invalid(/version/),
    );
    expect(parseProxyHeader(v2(0x21, 0x31, UNIX_BLOCK).subarray(0, 14))).toEqual(
      invalid(/AF_UNIX/),
    );
    expect(parseProxyHeader(v2(0x21, 0x11, [], 0xffff).subarray(0, 16))).toEqual(
      invalid(/longer than/),
    );
    expect(parseProxyHeader(v2(0x21, 0x11, [], 4).subarray(0, 16))).toEqual(invalid(/too short/));
  });

  it('refuses a signature wrong in any octet', () => {
    const good = v2(0x21, 0x11, INET_BLOCK);
    for (let k = 0; k < 12; k++) {
      const bad = Buffer.from(good);
      bad[k] = bad[k]! ^ 0x40;
      const r: ProxyParse = parseProxyHeader(bad);
      expect(r.kind, `octet ${k}`).toBe('invalid');
    }
  });
});
