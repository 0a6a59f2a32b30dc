import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddressLiteral } from './address-literal.js';

describe('parseAddressLiteral', () => {
  it.each([
    ['192.0.2.1', { family: 4, address: '192.0.2.1' }],
    ['001.02.3.000', { family: 4, address: '1.2.3.0' }],
    ['IPv6:::', { family: 6, address: '::' }],
    ['ipv6:FE80::0:1', { family: 6, address: 'fe80::1' }],
    ['IPV6:1:0:0:2:0:0:0:3', { family: 6, address: '1:0:0:2::3' }],
    ['IPv6:::ffff:10.10.10.10', { family: 6, address: '::ffff:a0a:a0a' }],
  ])('%s', (content, expected) => {
    expect(parseAddressLiteral(content)).toEqual(expected);
  });

  it.each([
    '',
    '1.2.3.4 ',
    '-1.2.3.4',
    'IPv6:fe80::1%eth0',
    'IPv6:::/0',
    'IPv6:::1:2:3:4:5:6:7',
    'tag:x',
  ])('refuses %j', (content) => {
    expect(parseAddressLiteral(content)).toBeNull();
  });

  it('agrees with the WHATWG URL serializer on every IPv6 address, written in full', () => {
    const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.boolean(), (g, pad) => {
        const full = g
          .map((x) => (pad ? x.toString(16).padStart(4, '0') : x.toString(16)))
          .join(':');
        const expected = new URL(`http://[${full}]/`).hostname.slice(1, -1);
        expect(parseAddressLiteral(`IPv6:${full}`)).toEqual({ family: 6, address: expected });
        expect(parseAddressLiteral(`IPv6:${expected}`)).toEqual({ family: 6, address: expected });
      }),
      { numRuns: 10_000 },
    );
  });
});
