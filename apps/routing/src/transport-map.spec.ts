import { parseTransport, type Transport } from '@petrel/config';
import type { DnsResolver } from '@petrel/dns';
import { describe, expect, it } from 'vitest';
import { DomainRouter } from './domain-router.js';
import { QueryResolver } from './query-resolver.js';
import { TransportMap } from './transport-map.js';

function parsed(map: Record<string, string>): Record<string, Transport> {
  const out: Record<string, Transport> = {};
  for (const [key, value] of Object.entries(map)) {
    const result = parseTransport(value);
    if (!result.ok) throw new Error(result.expected);
    out[key] = result.value;
  }
  return out;
}

/** A resolver that answers every MX question with one host, and counts the questions. */
function stubDns(): Pick<DnsResolver, 'mx' | 'a' | 'aaaa'> & { questions: string[] } {
  const questions: string[] = [];
  return {
    questions,
    mx: async (name: string) => {
      questions.push(name);
      return {
        kind: 'records',
        records: [{ exchange: `mx.${name}`, preference: 10 }],
        cached: questions.length > 1,
        ttl: 300,
      } as Awaited<ReturnType<DnsResolver['mx']>>;
    },
    a: async () => ({ kind: 'nodata', cached: false }) as Awaited<ReturnType<DnsResolver['a']>>,
    aaaa: async () =>
      ({ kind: 'nodata', cached: false }) as Awaited<ReturnType<DnsResolver['aaaa']>>,
  };
}

describe('TransportMap.replace', () => {
  it('puts the new map in force, whole, for the next look-up', () => {
    const map = new TransportMap(parsed({ 'a.test': 'smtp:[127.0.0.1]:2626', '*': 'mx' }));
    expect(map.lookup('a.test')?.transport.spec).toBe('smtp:[127.0.0.1]:2626');
    map.replace(parsed({ '.a.test': 'hold' }));
    expect(map.lookup('a.test')).toBeNull();
    expect(map.lookup('x.a.test')).toMatchObject({ key: '.a.test' });
    expect(map.lookup('b.test')).toBeNull();
    expect(map.size).toBe(1);
  });

  it('decides the next route of a domain DNS already answered for', async () => {
    const dns = stubDns();
    const transports = new TransportMap({});
    const router = new DomainRouter({ transports, dns });
    expect(await router.route('b.test')).toMatchObject({
      source: 'mx',
      hops: [{ host: 'mx.b.test', port: 25 }],
    });
    transports.replace(parsed({ 'b.test': 'smtp:[127.0.0.3]:2828' }));
    expect(await router.route('b.test')).toMatchObject({
      source: 'transport-map',
      transport: 'b.test',
      hops: [{ host: '127.0.0.3', port: 2828 }],
    });
    expect(dns.questions).toEqual(['b.test']);
  });
});

describe('QueryResolver.replaceLists', () => {
  it('answers the next query from the new lists', async () => {
    const dns = stubDns();
    const queries = new QueryResolver({
      domains: new DomainRouter({ transports: new TransportMap({}), dns }),
      lists: { 'staff@lists.test': ['alice@a.test'] },
      sourceRoutes: 'strip',
    });
    expect(await queries.resolve('staff@lists.test', { trusted: false })).toMatchObject({
      decision: 'expand',
      members: ['alice@a.test'],
    });
    queries.replaceLists({ 'ops@lists.test': ['bob@a.test'] });
    expect(await queries.resolve('ops@lists.test', { trusted: false })).toMatchObject({
      members: ['bob@a.test'],
    });
    expect(await queries.resolve('staff@lists.test', { trusted: false })).toMatchObject({
      decision: 'relay',
      hops: [{ host: 'mx.lists.test' }],
    });
  });
});
