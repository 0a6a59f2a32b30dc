// The routing process as an operator runs it (`node apps/routing/dist/main.js`,
// configured from the environment), killed with SIGKILL again and again in
// the middle of its work, and restarted as a Deployment would: afterwards
// every transaction has exactly one set of deliveries, none is in `failed`,
// and each body's reference count matches its deliveries. SIGTERM drains and
// exits 0; a configuration error exits 78.
//
// DNS answers for one of the domains late (150 ms), so that a process always
// holds jobs in the middle of routing when it is killed.
import { QUEUES, refsKey } from '@petrel/queue';
import {
  ensureServiceBuilt,
  freePort,
  killServices,
  spawnService,
  startDnsServer,
  startRedis,
  uniquePrefix,
  type RedisHandle,
  type ServiceProcess,
  type TestDnsServer,
} from '@petrel/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, routingConfig, Sender, written } from './support/routing-harness.js';

let server: RedisHandle;
let redis: Redis;
let dns: TestDnsServer;

beforeAll(async () => {
  await ensureServiceBuilt('routing');
  server = await startRedis();
  redis = new Redis(server.url);
  dns = await startDnsServer({
    records: [
      { type: 'MX', name: 'a.test', exchange: 'mx1.hosts.test', preference: 10 },
      { type: 'MX', name: 'b.test', exchange: 'mx1.hosts.test', preference: 10 },
      { type: 'MX', name: 'slow.test', exchange: 'mx2.hosts.test', preference: 10 },
    ],
    behaviours: { 'slow.test': { delayMs: 150 } },
  });
}, 300_000);

afterEach(() => killServices());

afterAll(async () => {
  redis?.disconnect();
  await dns?.close();
  await server?.stop();
});

function spawnRouting(prefix: string, extra: Record<string, string> = {}): ServiceProcess {
  return spawnService('routing', {
    PETREL_REDIS__URL: server.url,
    PETREL_REDIS__PREFIX: `'${prefix}'`,
    PETREL_REDIS__DURABILITY: 'none',
    PETREL_INGRESS__HOSTNAME: 'mx.petrel.test',
    PETREL_ROUTING__DNS: `{servers: ['${dns.address}'], timeout: 2s}`,
    // The slow domain is never cached, so every job waits for it.
    PETREL_ROUTING__LOCK_DURATION: '1s',
    PETREL_ROUTING__CONCURRENCY: '8',
    PETREL_ROUTING__GRPC__PORT: '0',
    PETREL_ADMIN__PORT: '0',
    PETREL_METRICS__PORT: '0',
    PETREL_LOG__LEVEL: 'warn',
    ...extra,
  });
}

describe('the routing process', () => {
  it('killed with SIGKILL in the middle of jobs, again and again: exactly one set of deliveries each', async () => {
    const c = routingConfig(
      server.url,
      dns.address,
      (c) => (c.redis.prefix = uniquePrefix('kill')),
    );
    const prefix = c.redis.prefix;
    const sender = await Sender.open(redis, c);
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) {
      const job = await sender.send({
        from: '<sender@a.test>',
        to: [`<x${i}@a.test>`, `<y${i}@b.test>`, `<z${i}@slow.test>`],
      });
      ids.push(job.id);
    }
    await sender.close();
    const transactions = new Queue(QUEUES.transactions, { connection: redis, prefix });
    // The DNS server's answers come late: a TTL of 0 keeps them out of every cache.
    dns.set(
      [
        { type: 'MX', name: 'a.test', exchange: 'mx1.hosts.test', preference: 10 },
        { type: 'MX', name: 'b.test', exchange: 'mx1.hosts.test', preference: 10 },
        { type: 'MX', name: 'slow.test', exchange: 'mx2.hosts.test', preference: 10, ttl: 0 },
      ],
      { 'slow.test': { delayMs: 150 } },
    );

    let killedWhileActive = 0;
    for (let round = 0; round < 8; round++) {
      const routing = spawnRouting(prefix);
      // Wait until this process holds jobs, then kill it part-way.
      await eventually(async () => {
        if (routing.child.exitCode !== null) throw new Error(routing.stderr());
        return (await transactions.getActiveCount()) > 0 ? true : undefined;
      }, 15_000);
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(Math.random() * 250)));
      if ((await transactions.getActiveCount()) > 0) killedWhileActive++;
      routing.child.kill('SIGKILL');
      await routing.exited;
    }
    expect(killedWhileActive).toBeGreaterThanOrEqual(6);

    const last = spawnRouting(prefix);
    await eventually(async () => {
      const left = await transactions.getJobCountByTypes('waiting', 'active', 'delayed', 'failed');
      return left === 0 ? true : undefined;
    }, 60_000);
    last.child.kill('SIGTERM');
    expect(await last.exited).toEqual({ code: 0, signal: null });
    await transactions.close();

    const { deliveries, held, failed } = await written(redis, c);
    expect(failed).toBe(0);
    expect(held).toEqual([]);
    const byMessage = new Map<string, string[]>();
    for (const d of deliveries)
      byMessage.set(d.messageId, [...(byMessage.get(d.messageId) ?? []), d.id]);
    const wrong = ids.filter((id) => {
      const set = (byMessage.get(id) ?? []).sort();
      return set.length !== 2 || set[0] !== `${id}.1` || set[1] !== `${id}.2`;
    });
    expect(wrong).toEqual([]);
    expect(deliveries).toHaveLength(2 * ids.length);
    const counts = await Promise.all(ids.map((id) => redis.get(refsKey(prefix, id))));
    expect(counts.filter((n) => n !== '2')).toEqual([]);
  }, 180_000);

  it('drains on SIGTERM and exits 0; a configuration error exits 78 naming the key', async () => {
    const metricsPort = await freePort();
    const routing = spawnRouting(uniquePrefix('term'), {
      PETREL_METRICS__PORT: String(metricsPort),
    });
    await eventually(async () => {
      if (routing.child.exitCode !== null) throw new Error(routing.stderr());
      const response = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => null);
      return response?.status === 200 ? true : undefined;
    }, 15_000);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toContain('petrel_routing_transactions_total');
    routing.child.kill('SIGTERM');
    expect(await routing.exited).toEqual({ code: 0, signal: null });

    const broken = spawnRouting(uniquePrefix('config'), {
      PETREL_ROUTING__TRANSPORTS: '{a.test: "smtp:192.0.2.1"}',
    });
    expect(await broken.exited).toEqual({ code: 78, signal: null });
    expect(broken.stderr()).toContain('routing.transports["a.test"]');
  }, 60_000);
});
