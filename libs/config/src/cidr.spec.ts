import { describe, expect, it } from 'vitest';
import { formatCidr, parseCidr } from './cidr.js';

function ok(text: string): string {
  const result = parseCidr(text);
  if (!result.ok) throw new Error(`${text}: ${result.expected}`);
  return formatCidr(result.cidr);
}

function reason(text: string): string {
  const result = parseCidr(text);
  if (result.ok) throw new Error(`${text} was accepted`);
  return result.hint === undefined ? result.expected : `${result.expected} (${result.hint})`;
}

describe('parseCidr', () => {
  it.each([
    ['127.0.0.0/8', '127.0.0.0/8'],
    ['10.1.2.3/32', '10.1.2.3/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['192.0.2.7', '192.0.2.7/32'],
    ['::1/128', '::1/128'],
    ['::1', '::1/128'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['fe80::/10', 'fe80::/10'],
    ['::/0', '::/0'],
    ['::ffff:10.0.0.0/104', '::ffff:10.0.0.0/104'],
    ['2001:db8:0:0:1:0:0:0/80', '2001:db8:0:0:1:0:0:0/80'],
  ])('accepts %s as %s', (text, normal) => {
    expect(ok(text)).toBe(normal);
  });

  it('knows the family', () => {
    expect(parseCidr('10.0.0.0/8')).toMatchObject({ ok: true, cidr: { family: 'ipv4' } });
    expect(parseCidr('::/0')).toMatchObject({ ok: true, cidr: { family: 'ipv6' } });
  });

  it.each(['', 'localhost', '10.0.0', '10.0.0.256/32', '/8', 'fe80::1%eth0', '::g'])(
    'refuses %j as not an address',
    (text) => {
      expect(reason(text)).toBe('a network such as 10.0.0.0/8 or 2001:db8::/32');
    },
  );

  it.each([
    ['10.0.0.0/', 32],
    ['10.0.0.0/33', 32],
    ['10.0.0.0/-1', 32],
    ['10.0.0.0/8.0', 32],
    ['10.0.0.0/ 8', 32],
    ['::/129', 128],
    ['::/1000', 128],
  ])('refuses the prefix of %s', (text, bits) => {
    expect(reason(text)).toBe(`a prefix length from 0 to ${bits} after the /`);
  });

  it.each([
    ['10.0.0.1/8', '10.0.0.0/8'],
    ['192.168.1.77/28', '192.168.1.64/28'],
    ['172.16.255.255/12', '172.16.0.0/12'],
    ['2001:db8::1/64', '2001:db8::/64'],
    ['2001:db8:1:2:3:4:5:6/16', '2001::/16'],
    ['2001:db8:0:0:1:0:0:1/80', '2001:db8:0:0:1::/80'],
    ['::ffff:10.0.0.1/104', '::ffff:a00:0/104'],
  ])('refuses host bits in %s and names the network meant', (text, meant) => {
    expect(reason(text)).toBe(
      `a network address, with no bits set below its /${text.split('/')[1]} prefix (did you mean ${meant}?)`,
    );
  });
});
