import { describe, expect, it } from 'vitest';
import { NetworkList } from './networks.js';

describe('NetworkList.contains', () => {
  const list = NetworkList.parse([
    '127.0.0.0/8',
    '10.0.0.0/8',
    '192.0.2.1',
    '198.51.100.128/25',
    '::1',
    '2001:db8::/32',
    'fd00:1:2::/48',
    '::ffff:203.0.113.0/120',
  ]);

  // [client address, inside]
  it.each([
    ['127.0.0.1', true],
    ['127.255.255.255', true],
    ['126.255.255.255', false],
    ['128.0.0.0', false],
    ['10.20.30.40', true],
    ['11.0.0.0', false],
    ['9.255.255.255', false],
    ['192.0.2.1', true],
    ['192.0.2.2', false],
    ['192.0.2.0', false],
    ['198.51.100.128', true],
    ['198.51.100.255', true],
    ['198.51.100.127', false],
    // IPv4-mapped IPv6 clients against IPv4 entries, every spelling.
    ['::ffff:127.0.0.1', true],
    ['::FFFF:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['0:0:0:0:0:ffff:7f00:0001', true],
    ['::ffff:192.0.2.1', true],
    ['::ffff:192.0.2.2', false],
    ['::ffff:8.8.8.8', false],
    // An IPv4-mapped entry matches plain IPv4 clients.
    ['203.0.113.9', true],
    ['::ffff:203.0.113.9', true],
    ['203.0.114.9', false],
    // IPv6.
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::2', false],
    ['::', false],
    ['2001:db8::1', true],
    ['2001:DB8:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF', true],
    ['2001:db9::', false],
    ['2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', false],
    ['fd00:1:2:3::1', true],
    ['fd00:1:3::1', false],
    ['fe80::1%eth0', false],
    // IPv4-compatible (deprecated) and NAT64 forms are not IPv4.
    ['::127.0.0.1', false],
    ['64:ff9b::127.0.0.1', false],
    // Not addresses at all.
    ['', false],
    ['localhost', false],
    ['127.0.0.1 ', false],
    ['127.0.0.01', false],
    ['127.1', false],
    ['0x7f.0.0.1', false],
    ['127.0.0.1/8', false],
    ['/run/petrel.sock', false],
    ['1::2::3', false],
    ['1:2:3:4:5:6:7:8:9', false],
    ['12345::', false],
    ['::ffff:127.0.0.256', false],
  ] as const)('%s: %s', (address, inside) => {
    expect(list.contains(address)).toBe(inside);
  });

  it('strips a zone identifier from a client address', () => {
    expect(NetworkList.parse(['fe80::/10']).contains('fe80::1%eth0')).toBe(true);
  });

  it('an empty list contains nothing', () => {
    const empty = NetworkList.parse([]);
    expect(empty.size).toBe(0);
    expect(empty.contains('127.0.0.1')).toBe(false);
    expect(empty.contains('::1')).toBe(false);
  });

  it('/0 entries contain everything of their family, mapped clients included', () => {
    const v4 = NetworkList.parse(['0.0.0.0/0']);
    expect(v4.contains('255.255.255.255')).toBe(true);
    expect(v4.contains('::ffff:1.2.3.4')).toBe(true);
    expect(v4.contains('2001:db8::1')).toBe(false);
    const v6 = NetworkList.parse(['::/0']);
    expect(v6.contains('2001:db8::1')).toBe(true);
    expect(v6.contains('1.2.3.4')).toBe(true); // ::/0 covers ::ffff:1.2.3.4
  });

  it('an IPv6 prefix that only partly covers the mapped block covers that part', () => {
    const list = NetworkList.parse(['::ffff:c000:0/112']); // ::ffff:192.0.0.0 - ::ffff:192.0.255.255
    expect(list.contains('192.0.2.1')).toBe(true);
    expect(list.contains('192.1.0.0')).toBe(false);
    expect(list.contains('191.255.255.255')).toBe(false);
  });
});

describe('NetworkList.parse', () => {
  it('writes its entries canonically', () => {
    const list = NetworkList.parse([
      '127.0.0.1',
      '10.0.0.0/8',
      '2001:DB8:0::/32',
      '::1',
      '::ffff:10.0.0.0/104',
    ]);
    expect(list.entries).toEqual([
      '127.0.0.1/32',
      '10.0.0.0/8',
      '2001:db8::/32',
      '::1/128',
      '::ffff:10.0.0.0/104',
    ]);
    expect(list.size).toBe(5);
  });

  // [entry, what the error says]
  it.each([
    ['', /not an IPv4 or IPv6 address/],
    ['localhost', /not an IPv4 or IPv6 address/],
    ['10.0.0.0/33', /0 to 32/],
    ['10.0.0.0/', /0 to 32/],
    ['10.0.0.0/-1', /0 to 32/],
    ['10.0.0.0/08', /0 to 32/],
    ['10.0.0.0/8/8', /0 to 32/],
    ['10.0.0.0/ 8', /0 to 32/],
    ['10.0.0.1/8', /did you mean 10\.0\.0\.0\/8/],
    ['192.168.1.0/16', /did you mean 192\.168\.0\.0\/16/],
    ['010.0.0.0/8', /not an IPv4/],
    ['10.0.0/8', /not an IPv4/],
    ['10.*', /not an IPv4/],
    [' 10.0.0.0/8', /not an IPv4/],
    ['256.0.0.0/8', /not an IPv4/],
    ['2001:db8::/129', /0 to 128/],
    ['2001:db8::1/32', /did you mean 2001:db8::\/32/],
    ['2001:db8:::/32', /not an IPv6/],
    ['2001:db8::g/128', /not an IPv6/],
    ['fe80::1%eth0', /zone/],
  ])('%j', (entry, message) => {
    expect(() => NetworkList.parse(['127.0.0.0/8', entry])).toThrow(message);
    expect(() => NetworkList.parse([entry])).toThrow(JSON.stringify(entry));
  });
});
