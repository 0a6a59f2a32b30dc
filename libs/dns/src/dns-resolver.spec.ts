// DnsResolver against the programmable test server, over real UDP and TCP on
// 127.0.0.1. No query leaves the machine: every resolver here is given
// 127.0.0.1 servers.
import {
  freePort,
  startDnsServer,
  type DnsServerOptions,
  type TestDnsServer,
  type TestRecord,
} from '@petrel/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { DnsQueryEvent } from './dns-answer.js';
import { DnsResolver, type DnsResolverOptions } from './dns-resolver.js';

const servers: TestDnsServer[] = [];
const resolvers: DnsResolver[] = [];

afterEach(async () => {
  for (const resolver of resolvers.splice(0)) resolver.close();
  for (const server of servers.splice(0)) await server.close();
});

async function serve(options?: DnsServerOptions): Promise<TestDnsServer> {
  const server = await startDnsServer(options);
  servers.push(server);
  return server;
}

/** A resolver asking one test server, or with these options (servers required). */
function resolver(
  target: TestDnsServer | (Partial<DnsResolverOptions> & Pick<DnsResolverOptions, 'servers'>),
): DnsResolver {
  const options: DnsResolverOptions =
    'address' in target
      ? { servers: [target.address], timeoutMs: 1000 }
      : { timeoutMs: 1000, ...target };
  if (!options.servers.every((server) => server.startsWith('127.0.0.1:'))) {
    throw new Error('tests ask 127.0.0.1 servers only');
  }
  const made = new DnsResolver(options);
  resolvers.push(made);
  return made;
}

const records: TestRecord[] = [
  { type: 'MX', name: 'example.test', exchange: 'MX2.Example.TEST.', preference: 20, ttl: 300 },
  { type: 'MX', name: 'example.test', exchange: 'mx1.example.test', preference: 10, ttl: 600 },
  { type: 'A', name: 'mx1.example.test', address: '192.0.2.1', ttl: 120 },
  { type: 'A', name: 'mx1.example.test', address: '192.0.2.2', ttl: 120 },
  { type: 'AAAA', name: 'mx1.example.test', address: '2001:db8::1', ttl: 120 },
  { type: 'CNAME', name: 'alias.example.test', target: 'mx1.example.test', ttl: 30 },
  { type: 'MX', name: 'null.example.test', exchange: '.', preference: 0, ttl: 300 },
  {
    type: 'MX',
    name: 'xn--bcher-kva.example',
    exchange: 'mx.xn--bcher-kva.example',
    preference: 5,
  },
  { type: 'A', name: 'zero.example.test', address: '192.0.2.3', ttl: 0 },
  { type: 'A', name: 'long.example.test', address: '192.0.2.4', ttl: 200_000 },
];

describe('DnsResolver: answers', () => {
  it('reads MX records in the order received, exchanges lower case without the dot', async () => {
    const server = await serve({ records });
    expect(await resolver(server).mx('Example.TEST.')).toEqual({
      kind: 'records',
      records: [
        { exchange: 'mx2.example.test', preference: 20 },
        { exchange: 'mx1.example.test', preference: 10 },
      ],
      ttl: 300,
      cached: false,
    });
  });

  it('reads A and AAAA records', async () => {
    const server = await serve({ records });
    const dns = resolver(server);
    expect(await dns.a('mx1.example.test')).toEqual({
      kind: 'records',
      records: ['192.0.2.1', '192.0.2.2'],
      ttl: 120,
      cached: false,
    });
    expect(await dns.aaaa('mx1.example.test')).toMatchObject({ records: ['2001:db8::1'] });
  });

  it('follows a CNAME, whose TTL counts', async () => {
    const server = await serve({ records });
    expect(await resolver(server).a('alias.example.test')).toEqual({
      kind: 'records',
      records: ['192.0.2.1', '192.0.2.2'],
      ttl: 30,
      cached: false,
    });
  });

  it('reads the null MX as exchange "" (RFC 7505)', async () => {
    const server = await serve({ records });
    expect(await resolver(server).mx('null.example.test')).toMatchObject({
      records: [{ exchange: '', preference: 0 }],
    });
  });

  it('tells NXDOMAIN from NODATA', async () => {
    const server = await serve({ records });
    const dns = resolver(server);
    expect(await dns.mx('nowhere.example.test')).toEqual({ kind: 'nxdomain', cached: false });
    expect(await dns.aaaa('example.test')).toEqual({ kind: 'nodata', cached: false });
  });

  it('asks for U-labels as A-labels, one cache entry for both spellings', async () => {
    const server = await serve({ records });
    const dns = resolver(server);
    expect(await dns.mx('BÜCHER.example.')).toMatchObject({
      records: [{ exchange: 'mx.xn--bcher-kva.example', preference: 5 }],
    });
    expect(await dns.mx('xn--bcher-kva.example')).toMatchObject({ cached: true });
    expect(server.queries).toEqual([
      { name: 'xn--bcher-kva.example', type: 'MX', transport: 'udp' },
    ]);
  });

  it('answers a name the DNS cannot carry as nxdomain, without a query', async () => {
    const server = await serve({ records });
    expect(await resolver(server).mx('a..example.test')).toEqual({
      kind: 'nxdomain',
      cached: false,
    });
    expect(server.queries).toEqual([]);
  });
});

describe('DnsResolver: failures and retries', () => {
  it('reports SERVFAIL and REFUSED, having asked each server `tries` times', async () => {
    const server = await serve({
      records,
      behaviours: { 'example.test': 'servfail', 'mx1.example.test': 'refused' },
    });
    const dns = resolver(server);
    expect(await dns.mx('example.test')).toMatchObject({ kind: 'error', failure: 'servfail' });
    expect(await dns.a('mx1.example.test')).toMatchObject({ kind: 'error', failure: 'refused' });
    expect(server.queries).toHaveLength(4);
  });

  it('times out when the server never answers', async () => {
    const server = await serve({ records, behaviours: { 'example.test': 'drop' } });
    const dns = resolver({ servers: [server.address], timeoutMs: 200, tries: 1 });
    const started = Date.now();
    const answer = await dns.mx('example.test');
    expect(answer).toMatchObject({ kind: 'error', failure: 'timeout' });
    expect(answer.kind === 'error' && answer.message).toContain(server.address);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('asks the second server when the first times out', async () => {
    const silent = await serve({ records, behaviours: { 'example.test': 'drop' } });
    const good = await serve({ records });
    const dns = resolver({ servers: [silent.address, good.address], timeoutMs: 200 });
    expect(await dns.mx('example.test')).toMatchObject({ kind: 'records' });
    expect(silent.queries).toHaveLength(1);
    expect(good.queries).toHaveLength(1);
  });

  it('asks in rounds: every server once per try', async () => {
    const a = await serve({ records, behaviours: { 'example.test': 'drop' } });
    const b = await serve({ records, behaviours: { 'example.test': 'drop' } });
    const dns = resolver({ servers: [a.address, b.address], timeoutMs: 100, tries: 2 });
    expect(await dns.mx('example.test')).toMatchObject({ kind: 'error', failure: 'timeout' });
    expect([a.queries.length, b.queries.length]).toEqual([2, 2]);
  });

  it('reports a network failure when nothing listens', async () => {
    const port = await freePort();
    const dns = resolver({ servers: [`127.0.0.1:${port}`], timeoutMs: 1000, tries: 1 });
    expect(await dns.a('example.test')).toMatchObject({ kind: 'error', failure: 'network' });
  });

  it('repeats a truncated answer over TCP', async () => {
    const server = await serve({ records, behaviours: { 'example.test': 'truncate' } });
    expect(await resolver(server).mx('example.test')).toMatchObject({
      kind: 'records',
      records: [{ exchange: 'mx2.example.test' }, { exchange: 'mx1.example.test' }],
    });
    expect(server.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('ignores a reply with the wrong id and takes the right one', async () => {
    const server = await serve({ records, behaviours: { 'example.test': { spoofFirst: true } } });
    expect(await resolver(server).mx('example.test')).toMatchObject({
      kind: 'records',
      cached: false,
    });
    expect(server.queries).toHaveLength(1);
  });
});

describe('DnsResolver: cache', () => {
  function clock(): { now: () => number; advance: (ms: number) => void } {
    let ms = 1_700_000_000_000;
    return { now: () => ms, advance: (by) => (ms += by) };
  }

  it('serves a positive answer from the cache until its TTL runs out', async () => {
    const server = await serve({ records });
    const time = clock();
    const dns = resolver({ servers: [server.address], now: time.now });
    await dns.mx('example.test');
    time.advance(100_500);
    expect(await dns.mx('EXAMPLE.test')).toEqual({
      kind: 'records',
      records: [
        { exchange: 'mx2.example.test', preference: 20 },
        { exchange: 'mx1.example.test', preference: 10 },
      ],
      ttl: 200,
      cached: true,
    });
    expect(server.queries).toHaveLength(1);
    time.advance(199_499);
    expect(await dns.mx('example.test')).toMatchObject({ cached: true, ttl: 1 });
    time.advance(1);
    expect(await dns.mx('example.test')).toMatchObject({ cached: false, ttl: 300 });
    expect(server.queries).toHaveLength(2);
  });

  it('keeps A and MX of one name apart', async () => {
    const server = await serve({ records });
    const dns = resolver(server);
    await dns.a('mx1.example.test');
    expect(await dns.mx('mx1.example.test')).toEqual({ kind: 'nodata', cached: false });
  });

  it('keeps a positive answer one day at most, and one with TTL 0 not at all', async () => {
    const server = await serve({ records });
    const time = clock();
    const dns = resolver({ servers: [server.address], now: time.now });
    expect(await dns.a('long.example.test')).toMatchObject({ ttl: 200_000, cached: false });
    time.advance(86_399_000);
    expect(await dns.a('long.example.test')).toMatchObject({ ttl: 1, cached: true });
    time.advance(1_000);
    expect(await dns.a('long.example.test')).toMatchObject({ cached: false });

    await dns.a('zero.example.test');
    expect(await dns.a('zero.example.test')).toMatchObject({ ttl: 0, cached: false });
    expect(server.queries.filter((q) => q.name === 'zero.example.test')).toHaveLength(2);
  });

  it('caches NXDOMAIN and NODATA for min(SOA TTL, MINIMUM) (RFC 2308)', async () => {
    const server = await serve({ records, soa: { ttl: 30, minimum: 10 } });
    const time = clock();
    const dns = resolver({ servers: [server.address], now: time.now });
    await dns.mx('nowhere.example.test');
    await dns.aaaa('example.test');
    time.advance(9_999);
    expect(await dns.mx('nowhere.example.test')).toEqual({ kind: 'nxdomain', cached: true });
    expect(await dns.aaaa('example.test')).toEqual({ kind: 'nodata', cached: true });
    expect(server.queries).toHaveLength(2);
    time.advance(1);
    expect(await dns.mx('nowhere.example.test')).toEqual({ kind: 'nxdomain', cached: false });
    expect(await dns.aaaa('example.test')).toEqual({ kind: 'nodata', cached: false });
    expect(server.queries).toHaveLength(4);
  });

  it('keeps a negative answer one hour at most', async () => {
    const server = await serve({ records, soa: { ttl: 86_400, minimum: 86_400 } });
    const time = clock();
    const dns = resolver({ servers: [server.address], now: time.now });
    await dns.mx('nowhere.example.test');
    time.advance(3_599_999);
    expect(await dns.mx('nowhere.example.test')).toMatchObject({ cached: true });
    time.advance(1);
    expect(await dns.mx('nowhere.example.test')).toMatchObject({ cached: false });
  });

  it('never caches a failure', async () => {
    const server = await serve({ records, behaviours: { 'example.test': 'servfail' } });
    const dns = resolver({ servers: [server.address], timeoutMs: 1000, tries: 1 });
    expect(await dns.mx('example.test')).toMatchObject({ kind: 'error', failure: 'servfail' });
    server.set(records);
    expect(await dns.mx('example.test')).toMatchObject({ kind: 'records', cached: false });
    expect(server.queries).toHaveLength(2);
  });

  it('evicts the least recently used answer beyond cacheEntries', async () => {
    const server = await serve({ records });
    const dns = resolver({ servers: [server.address], cacheEntries: 1 });
    await dns.a('mx1.example.test');
    await dns.mx('example.test');
    expect(await dns.a('mx1.example.test')).toMatchObject({ cached: false });
  });

  it('shares one network query among identical look-ups in flight', async () => {
    const server = await serve({ records, behaviours: { 'example.test': { delayMs: 100 } } });
    const events: DnsQueryEvent[] = [];
    const dns = resolver({ servers: [server.address], onQuery: (e) => events.push(e) });
    const answers = await Promise.all(Array.from({ length: 5 }, () => dns.mx('example.test')));
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toMatchObject({ kind: 'records', cached: false });
    expect(server.queries).toHaveLength(1);
    expect(events).toHaveLength(1);
  });
});

describe('DnsResolver: events and lifecycle', () => {
  it('reports one event per look-up that went to the network', async () => {
    const server = await serve({ records, behaviours: { 'mx1.example.test': 'refused' } });
    const events: DnsQueryEvent[] = [];
    const dns = resolver({ servers: [server.address], tries: 1, onQuery: (e) => events.push(e) });
    await dns.mx('example.test');
    await dns.mx('example.test');
    await dns.aaaa('nowhere.example.test');
    await dns.a('mx1.example.test');
    expect(events.map(({ type, outcome }) => [type, outcome])).toEqual([
      ['MX', 'records'],
      ['AAAA', 'nxdomain'],
      ['A', 'refused'],
    ]);
    for (const event of events) expect(event.seconds).toBeGreaterThanOrEqual(0);
  });

  it('ends look-ups in flight as network on close(), and refuses new ones', async () => {
    const server = await serve({ records, behaviours: { 'example.test': 'drop' } });
    const dns = resolver({ servers: [server.address], timeoutMs: 10_000 });
    const pending = dns.mx('example.test');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    dns.close();
    expect(await pending).toMatchObject({ kind: 'error', failure: 'network' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await dns.a('mx1.example.test')).toMatchObject({ kind: 'error', failure: 'network' });
  });

  it('refuses bad options', () => {
    expect(() => new DnsResolver({ servers: ['127.0.0.1'], timeoutMs: 0 })).toThrow(RangeError);
    expect(() => new DnsResolver({ servers: ['127.0.0.1'], timeoutMs: 1, tries: 0 })).toThrow(
      RangeError,
    );
    expect(() => new DnsResolver({ servers: ['dns.example'], timeoutMs: 1 })).toThrow(TypeError);
    expect(new DnsResolver({ servers: ['::1', '127.0.0.1:5353'], timeoutMs: 1 }).servers).toEqual([
      '[::1]:53',
      '127.0.0.1:5353',
    ]);
  });
});
