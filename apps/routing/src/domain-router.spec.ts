// DomainRouter against a real DNS server on 127.0.0.1 (libs/testing's
// programmable server) through the real resolver (@petrel/dns).
import { parseTransport, type Transport } from '@petrel/config';
import { DnsResolver } from '@petrel/dns';
import { startDnsServer, type TestDnsServer, type TestRecord } from '@petrel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainRouter } from './domain-router.js';
import { TransportMap } from './transport-map.js';

const RECORDS: TestRecord[] = [
  { type: 'MX', name: 'example.test', exchange: 'mx2.example.test', preference: 20 },
  { type: 'MX', name: 'example.test', exchange: 'mx1.example.test', preference: 10 },
  { type: 'MX', name: 'equal.test', exchange: 'a.equal.test', preference: 10 },
  { type: 'MX', name: 'equal.test', exchange: 'b.equal.test', preference: 10 },
  { type: 'MX', name: 'equal.test', exchange: 'c.equal.test', preference: 10 },
  { type: 'MX', name: 'equal.test', exchange: 'backup.equal.test', preference: 50 },
  { type: 'A', name: 'implicit.test', address: '192.0.2.10' },
  { type: 'AAAA', name: 'v6only.test', address: '2001:db8::10' },
  { type: 'MX', name: 'nullmx.test', exchange: '.', preference: 0 },
  { type: 'A', name: 'nullmx.test', address: '192.0.2.11' },
  { type: 'MX', name: 'relay.example.net', exchange: 'in.relay.example.net', preference: 5 },
  // empty.test exists (an empty non-terminal, RFC 8020) with no record of its own.
  { type: 'A', name: 'host.empty.test', address: '192.0.2.12' },
];

let dns: TestDnsServer;
let resolver: DnsResolver;

beforeAll(async () => {
  dns = await startDnsServer({
    records: RECORDS,
    behaviours: { 'broken.test': 'servfail', 'slow.test': { delayMs: 2_000 } },
  });
  resolver = new DnsResolver({ servers: [dns.address], timeoutMs: 300, tries: 1 });
});

afterAll(async () => {
  resolver.close();
  await dns.close();
});

function transports(map: Record<string, string | object>): TransportMap {
  const parsed: Record<string, Transport> = {};
  for (const [key, value] of Object.entries(map)) {
    const result = parseTransport(value);
    if (!result.ok) throw new Error(result.expected);
    parsed[key] = result.value;
  }
  return new TransportMap(parsed);
}

function router(map: Record<string, string | object> = {}, random?: () => number) {
  return new DomainRouter({
    transports: transports(map),
    dns: resolver,
    ...(random ? { random } : {}),
  });
}

describe('DNS routing (RFC 5321 §5.1)', () => {
  it('sends to the MX hosts in preference order, on port 25', async () => {
    const r = await router().route('example.test');
    expect(r).toMatchObject({
      decision: 'relay',
      source: 'mx',
      transport: null,
      hops: [
        { host: 'mx1.example.test', preference: 10, port: 25 },
        { host: 'mx2.example.test', preference: 20, port: 25 },
      ],
    });
  });

  it('orders equal preferences at random, and keeps the preference order', async () => {
    const orders = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const r = await router().route('equal.test');
      if (r.decision !== 'relay') throw new Error(r.decision);
      expect(r.hops[3]).toEqual({ host: 'backup.equal.test', preference: 50, port: 25 });
      orders.add(
        r.hops
          .slice(0, 3)
          .map((h) => h.host[0])
          .join(''),
      );
    }
    // 3! orders; 40 draws all landing on one would be a broken shuffle.
    expect(orders.size).toBeGreaterThan(2);
    const first = await router({}, () => 0.999).route('equal.test');
    const again = await router({}, () => 0.999).route('equal.test');
    expect(first).toEqual(again);
  });

  it('uses the domain itself (implicit MX) when there is no MX, by A or AAAA', async () => {
    expect(await router().route('implicit.test')).toMatchObject({
      decision: 'relay',
      source: 'implicit-mx',
      hops: [{ host: 'implicit.test', preference: 0, port: 25 }],
    });
    expect(await router().route('v6only.test')).toMatchObject({
      decision: 'relay',
      source: 'implicit-mx',
      hops: [{ host: 'v6only.test', preference: 0, port: 25 }],
    });
  });

  it('bounces a null MX with 556 5.1.10 (RFC 7505), even when the domain has an address', async () => {
    expect(await router().route('nullmx.test')).toMatchObject({
      decision: 'reject',
      source: 'mx',
      reply: { code: 556, enhanced: '5.1.10' },
    });
  });

  it('bounces NXDOMAIN with 550 5.1.2, and a domain without MX or address too', async () => {
    expect(await router().route('missing.test')).toMatchObject({
      decision: 'reject',
      reply: {
        code: 550,
        enhanced: '5.1.2',
        text: 'Domain missing.test does not exist (NXDOMAIN)',
      },
    });
    expect(await router().route('empty.test')).toMatchObject({
      decision: 'reject',
      source: 'implicit-mx',
      reply: { code: 550, enhanced: '5.1.2' },
    });
  });

  it('defers SERVFAIL and timeouts with 451 4.4.3, never bounces them', async () => {
    expect(await router().route('broken.test')).toMatchObject({
      decision: 'defer',
      reply: { code: 451, enhanced: '4.4.3', text: expect.stringContaining('servfail') },
    });
    expect(await router().route('slow.test')).toMatchObject({
      decision: 'defer',
      reply: { code: 451, enhanced: '4.4.3', text: expect.stringContaining('timeout') },
    });
  });

  it('says when the answer came from the cache', async () => {
    const r = router();
    await r.route('example.test');
    expect(await r.route('example.test')).toMatchObject({ decision: 'relay', cached: true });
  });

  it('sends an address literal to that address, without DNS', async () => {
    const before = dns.queries.length;
    expect(await router().route('[192.0.2.7]')).toMatchObject({
      decision: 'relay',
      source: 'literal',
      hops: [{ host: '192.0.2.7', preference: 0, port: 25 }],
    });
    expect(await router().route('[ipv6:2001:db8::7]')).toMatchObject({
      hops: [{ host: '2001:db8::7', preference: 0, port: 25 }],
    });
    expect(dns.queries.length).toBe(before);
  });
});

describe('the transport map', () => {
  const map = {
    'example.test': 'smtp:[127.0.0.1]:2626',
    '.example.test': 'smtp:[192.0.2.25]',
    '.sub.example.test': 'hold',
    'mx.example.test': 'mx',
    'blocked.test': 'reject:554 5.7.1 No mail for blocked.test',
    'later.test': 'reject:450 Not now',
    'relayed.test': { nexthop: 'smtp:relay.example.net:587', tls: 'required', auth: 'relay' },
    'typo.test': 'smtp:no-such-host.test',
    '*': 'smtp:[smarthost.example.net]:587',
  };

  it('takes the exact domain first, then the nearest .parent, then *', async () => {
    const r = router(map);
    expect(await r.route('example.test')).toMatchObject({
      decision: 'relay',
      source: 'transport-map',
      transport: 'example.test',
      hops: [{ host: '127.0.0.1', preference: 0, port: 2626 }],
    });
    expect(await r.route('a.example.test')).toMatchObject({
      transport: '.example.test',
      hops: [{ host: '192.0.2.25', port: 25 }],
    });
    expect(await r.route('b.sub.example.test')).toMatchObject({
      decision: 'hold',
      transport: '.sub.example.test',
    });
    expect(await r.route('implicit.test')).toMatchObject({
      transport: '*',
      hops: [{ host: 'smarthost.example.net', port: 587 }],
    });
    expect(await r.route('[192.0.2.9]')).toMatchObject({ transport: '*' });
  });

  it('routes "mx" entries by DNS, exempt from *', async () => {
    expect(await router(map).route('mx.example.test')).toMatchObject({
      decision: 'reject',
      transport: 'mx.example.test',
      reply: { code: 550, enhanced: '5.1.2' },
    });
  });

  it('rejects with the entry reply: 5yz bounces, 4yz defers', async () => {
    const r = router(map);
    expect(await r.route('blocked.test')).toMatchObject({
      decision: 'reject',
      reply: { code: 554, enhanced: '5.7.1', text: 'No mail for blocked.test' },
    });
    expect(await r.route('later.test')).toMatchObject({
      decision: 'defer',
      reply: { code: 450, enhanced: '4.7.1', text: 'Not now' },
    });
  });

  it('looks up the MX of an smtp:host next hop, keeping its port, TLS policy and credentials', async () => {
    expect(await router(map).route('relayed.test')).toMatchObject({
      decision: 'relay',
      source: 'transport-map',
      domain: 'relayed.test',
      transport: 'relayed.test',
      tls: 'required',
      auth: 'relay',
      hops: [{ host: 'in.relay.example.net', preference: 5, port: 587 }],
    });
  });

  it('defers, never bounces, when an smtp:host next hop is not in DNS', async () => {
    expect(await router(map).route('typo.test')).toMatchObject({
      decision: 'defer',
      reply: {
        code: 451,
        enhanced: '4.4.3',
        text: expect.stringContaining('smtp:no-such-host.test'),
      },
    });
  });
});
