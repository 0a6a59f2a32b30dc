// A transaction routed twice gets exactly one set of deliveries: the re-run
// that follows a routing process killed after its commit (before BullMQ
// marked the job completed), and two runs at once (a lock that expired while
// the first still worked). TransactionRouter is driven directly, on a real
// Redis and DNS server, so that each window is hit on purpose; the process
// test kills real processes at random moments.
import { DnsResolver } from '@petrel/dns';
import { ConnectionPool, QUEUES, refsKey, routedKey, type TransactionJobV1 } from '@petrel/queue';
import { startDnsServer, startRedis, type RedisHandle, type TestDnsServer } from '@petrel/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainRouter } from '../src/domain-router.js';
import { RecipientRouter } from '../src/recipient-router.js';
import { TransactionRouter } from '../src/transaction-router.js';
import { TransportMap } from '../src/transport-map.js';
import { routingConfig, Sender, written } from './support/routing-harness.js';

let server: RedisHandle;
let redis: Redis;
let dns: TestDnsServer;
let resolver: DnsResolver;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  dns = await startDnsServer({
    records: [
      { type: 'MX', name: 'a.test', exchange: 'mx1.hosts.test', preference: 10 },
      { type: 'MX', name: 'c.test', exchange: 'mx2.hosts.test', preference: 10 },
    ],
  });
  resolver = new DnsResolver({ servers: [dns.address], timeoutMs: 500 });
});

afterAll(async () => {
  resolver.close();
  redis.disconnect();
  await dns.close();
  await server.stop();
});

async function setUp() {
  const c = routingConfig(server.url, dns.address);
  const prefix = c.redis.prefix;
  const queue = (name: string) => new Queue(name, { connection: redis, prefix });
  const queues = {
    transactions: queue(QUEUES.transactions),
    deliveries: queue(QUEUES.deliveries),
    held: queue(QUEUES.held),
  };
  const pool = await ConnectionPool.open({
    url: server.url,
    prefix,
    size: 2,
    commandTimeoutMs: 2000,
    name: 'idempotency-test',
  });
  const domains = new DomainRouter({ transports: new TransportMap({}), dns: resolver });
  const router = new TransactionRouter({
    prefix,
    hostname: 'mx.petrel.test',
    instance: 'test',
    router: new RecipientRouter({
      domains,
      lists: {},
      sourceRoutes: 'strip',
      maxRecipientsPerDelivery: 100,
    }),
    queues,
    pool,
    redis,
    retry: c.egress.retry,
  });
  const sender = await Sender.open(redis, c);
  const job: TransactionJobV1 = await sender.send({
    from: '<sender@a.test>',
    to: ['<x@a.test>', '<y@c.test>', '<z@missing.test>'],
  });
  const close = async () => {
    await sender.close();
    await pool.close();
    await Promise.all(Object.values(queues).map((q) => q.close()));
  };
  return { c, prefix, router, job, close };
}

describe('routing the same transaction twice', () => {
  it('commits once: the re-run after a commit writes nothing', async () => {
    const { c, prefix, router, job, close } = await setUp();
    try {
      const first = await router.route(job.id, job);
      expect(first.status).toBe('routed');
      expect(first.deliveries).toEqual([`${job.id}.1`, `${job.id}.2`]);
      expect(first.dsn).not.toBeNull();
      const before = await written(redis, c);
      expect(await redis.get(refsKey(prefix, job.id))).toBe('2');

      const again = await router.route(job.id, job);
      expect(again).toMatchObject({ status: 'already-routed', deliveries: [], dsn: null });
      const after = await written(redis, c);
      expect(after.deliveries).toEqual(before.deliveries);
      // One DSN transaction (waiting: no worker runs here), not two.
      const others = after.transactions.filter((t) => t.id !== job.id);
      expect(others.map((t) => t.data.origin)).toEqual(['dsn']);
      expect(await redis.get(refsKey(prefix, job.id))).toBe('2');
    } finally {
      await close();
    }
  });

  it('commits once when two runs race', async () => {
    const { c, prefix, router, job, close } = await setUp();
    try {
      const outcomes = await Promise.all([
        router.route(job.id, job),
        router.route(job.id, job),
        router.route(job.id, job),
      ]);
      expect(outcomes.map((o) => o.status).sort()).toEqual([
        'already-routed',
        'already-routed',
        'routed',
      ]);
      const { deliveries, transactions } = await written(redis, c);
      expect(deliveries).toHaveLength(2);
      expect(transactions.filter((t) => t.id !== job.id)).toHaveLength(1);
      expect(await redis.get(refsKey(prefix, job.id))).toBe('2');
      expect(await redis.get(routedKey(prefix, job.id))).toBe('done');
    } finally {
      await close();
    }
  });
});
