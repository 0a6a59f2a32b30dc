import { describe, expect, it } from 'vitest';
import { parseTransport } from './transport.js';

const action = (input: unknown) => {
  const parsed = parseTransport(input);
  return parsed.ok ? parsed.value.action : parsed.expected;
};

describe('parseTransport', () => {
  it('reads smtp: next hops with and without MX look-up, as Postfix does', () => {
    expect(action('smtp:relay.example.net')).toEqual({
      kind: 'smtp',
      host: 'relay.example.net',
      port: 25,
      mx: true,
    });
    expect(action('smtp:Relay.Example.NET.:2626')).toEqual({
      kind: 'smtp',
      host: 'relay.example.net',
      port: 2626,
      mx: true,
    });
    expect(action('smtp:[relay.example.net]:587')).toEqual({
      kind: 'smtp',
      host: 'relay.example.net',
      port: 587,
      mx: false,
    });
    expect(action('smtp:[192.0.2.1]')).toEqual({
      kind: 'smtp',
      host: '192.0.2.1',
      port: 25,
      mx: false,
    });
    expect(action('smtp:[2001:DB8::1]:2525')).toEqual({
      kind: 'smtp',
      host: '2001:db8::1',
      port: 2525,
      mx: false,
    });
    expect(action('smtp:[IPv6:2001:db8::1]')).toEqual({
      kind: 'smtp',
      host: '2001:db8::1',
      port: 25,
      mx: false,
    });
  });

  it('reads mx, hold and reject with its default and given replies', () => {
    expect(action('mx')).toEqual({ kind: 'mx' });
    expect(action('hold')).toEqual({ kind: 'hold' });
    expect(action('reject')).toEqual({
      kind: 'reject',
      code: 550,
      enhanced: '5.7.1',
      text: 'Recipient address rejected by the transport map',
    });
    expect(action('reject:554 5.7.2 Not here')).toEqual({
      kind: 'reject',
      code: 554,
      enhanced: '5.7.2',
      text: 'Not here',
    });
    expect(action('reject:451 Try later')).toEqual({
      kind: 'reject',
      code: 451,
      enhanced: '4.7.1',
      text: 'Try later',
    });
  });

  it('reads the mapping form with a TLS policy and credentials', () => {
    expect(
      parseTransport({ nexthop: 'smtp:[smarthost.example.net]:587', tls: 'required', auth: 'sh' }),
    ).toEqual({
      ok: true,
      value: {
        action: { kind: 'smtp', host: 'smarthost.example.net', port: 587, mx: false },
        tls: 'required',
        auth: 'sh',
        spec: 'smtp:[smarthost.example.net]:587',
      },
    });
  });

  it('refuses what it cannot read, saying what it expected', () => {
    expect(action('smtp:192.0.2.1')).toMatch(/an address in brackets, as in smtp:\[192.0.2.1\]/);
    expect(action('smtp:[192.0.2.1')).toMatch(/closing bracket/);
    expect(action('smtp:[192.0.2.1]:0')).toMatch(/a port from 1 to 65535/);
    expect(action('smtp:relay.example.net:99999')).toMatch(/a port from 1 to 65535/);
    expect(action('smtp:relay_1.example.net')).toMatch(/a host name or an address/);
    expect(action('lmtp:[192.0.2.1]')).toMatch(/^a transport: /);
    expect(action('reject:250 fine')).toMatch(/^reject:<4yz or 5yz code>/);
    expect(action('reject:550 4.7.1 mismatch')).toMatch(/^reject:/);
    expect(action({ nexthop: 'hold', tls: 'required' })).toMatch(/smtp: next hops only/);
    expect(action({ nexthop: 'smtp:[a.example]', tls: 'always' })).toMatch(/^tls: one of/);
    expect(action({ nexthop: 'smtp:[a.example]', port: 25 })).toMatch(/not "port"/);
    expect(action({ tls: 'none' })).toMatch(/^nexthop: /);
    expect(action(42)).toMatch(/or a mapping \{ nexthop, tls, auth \}/);
  });
});
