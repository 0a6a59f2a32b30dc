import { describe, expect, it } from 'vitest';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6, readIPv6, unmapIPv4 } from './ip-address.js';

describe('parseIPv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['127.0.0.1', 0x7f000001],
    ['255.255.255.255', 0xffffffff],
    ['192.0.2.10', 0xc000020a],
    ['1.2.3', -1],
    ['1.2.3.4.5', -1],
    ['01.2.3.4', -1],
    ['1.2.3.00', -1],
    ['1.2.3.256', -1],
    ['1.2.3.1000', -1],
    ['1..2.3', -1],
    ['1.2.3.4 ', -1],
    [' 1.2.3.4', -1],
    ['1.2.3.-4', -1],
    ['0x1.2.3.4', -1],
    ['', -1],
  ])('%j: %d', (text, value) => {
    expect(parseIPv4(text)).toBe(value);
    if (value >= 0) expect(formatIPv4(value)).toBe(text);
  });
});

describe('parseIPv6 and formatIPv6 (RFC 5952)', () => {
  // [written, canonical]; null when refused
  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group stays
    ['2001:db8::1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal runs
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::ffff:c000:201', '::ffff:192.0.2.1'],
    ['::192.0.2.1', '::c000:201'],
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['fe80::1%eth0', null],
    ['1:2:3:4:5:6:7:8:9', null],
    ['1:2:3:4:5:6:7', null],
    ['1::2::3', null],
    [':::', null],
    [':1::', null],
    ['1::2:', null],
    ['12345::', null],
    ['::g', null],
    ['1.2.3.4::', null],
    ['1:2:3:4:5:6:7:1.2.3.4', null],
    ['::1.2.3', null],
    ['', null],
    [':', null],
  ])('%j: %j', (text, canonical) => {
    const v = parseIPv6(text);
    if (canonical === null) {
      expect(v).toBeNull();
      return;
    }
    expect(v).not.toBeNull();
    expect(formatIPv6(v!)).toBe(canonical);
    expect(parseIPv6(canonical)).toBe(v);
  });

  it('reads 16 octets in network order', () => {
    const bytes = Buffer.from('00ff20010db8000000000000000000000001', 'hex');
    expect(formatIPv6(readIPv6(bytes, 2))).toBe('2001:db8::1');
  });

  it('unmaps only ::ffff:0:0/96', () => {
    expect(unmapIPv4(parseIPv6('::ffff:192.0.2.1')!)).toBe(0xc0000201);
    expect(unmapIPv4(parseIPv6('::ffff:0.0.0.0')!)).toBe(0);
    expect(unmapIPv4(parseIPv6('::ffff:255.255.255.255')!)).toBe(0xffffffff);
    expect(unmapIPv4(parseIPv6('::192.0.2.1')!)).toBe(-1);
    expect(unmapIPv4(parseIPv6('1::ffff:192.0.2.1')!)).toBe(-1);
  });
});
