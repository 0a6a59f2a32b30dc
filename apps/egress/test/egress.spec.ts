// The egress service on real peers: deliveries written as routing writes them
// in a real Redis, replayed by createEgress's worker to fault-injecting next
// hops (libs/testing's sink, on smtp-server) over real sockets, with the test's
// own DNS server for next hops named by host. Checked: the bytes at the sink,
// each recipient's recorded state, the DSN written for what bounced, and the
// body deleted with its last reference.
import { refsKey } from '@petrel/queue';
import {
  freePort,
  startDnsServer,
  startRedis,
  startTestSink,
  type RedisHandle,
  type TestDnsServer,
  type TestSink,
} from '@petrel/testing';
import type { PetrelConfig } from '@petrel/config';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEgress, type Egress } from '../src/create-egress.js';
import {
  BODY,
  deliveryState,
  egressConfig,
  enqueueDelivery,
  eventually,
  quietLogger,
  waitingTransactions,
} from './support/egress-harness.js';

let server: RedisHandle;
let redis: Redis;
let dns: TestDnsServer;
const started: Egress[] = [];
const sinks: TestSink[] = [];

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  dns = await startDnsServer({
    records: [{ type: 'A', name: 'mx2.hosts.test', address: '127.0.0.3' }],
  });
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.stop()));
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  redis.disconnect();
  await dns.close();
  await server.stop();
});

async function sink(options: Parameters<typeof startTestSink>[0] = {}): Promise<TestSink> {
  const s = await startTestSink(options);
  sinks.push(s);
  return s;
}

async function start(change?: (c: PetrelConfig) => void, now?: () => Date) {
  const c = egressConfig(server.url, (c) => {
    c.routing.dns = { servers: [dns.address], timeoutMs: 500 };
    change?.(c);
  });
  const egress = createEgress(c, {
    logger: quietLogger,
    instance: 'test',
    ...(now ? { now } : {}),
  });
  started.push(egress);
  await egress.start();
  return c;
}

const gone = (c: PetrelConfig, messageId: string, bodyKey: string) =>
  eventually(async () =>
    (await redis.exists(bodyKey, refsKey(c.redis.prefix, messageId))) === 0 ? true : undefined,
  );

describe('delivery', () => {
  it('replays the message to the next hop, one transaction for all its recipients, then deletes the body', async () => {
    const next = await sink();
    const c = await start();
    const job = await enqueueDelivery(redis, c, {
      from: '<sender@a.test>',
      to: ['<x@sink.test>', '<y@sink.test>'],
      hops: [{ host: next.host, preference: 0, port: next.port }],
    });
    const [message] = await next.waitForMessages(1);
    expect(message).toMatchObject({
      mailFrom: 'sender@a.test',
      rcptTo: ['x@sink.test', 'y@sink.test'],
    });
    expect(message!.body).toEqual(BODY);
    await gone(c, job.messageId, job.bodyKey);
    expect(next.messages).toHaveLength(1);
  });

  it('bounces a 5yz recipient in a DSN with the next hop reply, and delivers the rest', async () => {
    const next = await sink();
    const c = await start();
    const job = await enqueueDelivery(redis, c, {
      from: '<sender@a.test>',
      to: ['<x@sink.test>', '<reject-y@sink.test>'],
      hops: [{ host: next.host, preference: 0, port: next.port }],
    });
    await next.waitForMessages(1);
    const [dsn] = await eventually(async () => {
      const waiting = await waitingTransactions(redis, c);
      return waiting.length === 1 ? waiting : undefined;
    });
    expect(dsn!.job).toMatchObject({ origin: 'dsn', reversePath: { mailbox: null } });
    expect(dsn!.job.recipients.map((r) => r.forwardPath.raw)).toEqual(['sender@a.test']);
    expect(dsn!.body).toMatch(
      /Final-Recipient: rfc822; reject-y@sink\.test\r\nAction: failed\r\nStatus: 5\.1\.1\r\nRemote-MTA: dns; 127\.0\.0\.1\r\nDiagnostic-Code: smtp; 550 5\.1\.1/,
    );
    await gone(c, job.messageId, job.bodyKey);
  });

  it('retries a 4yz recipient later (only that one) until it is delivered', async () => {
    const next = await sink({
      faults: [
        { stage: 'rcpt', match: 'later', action: { reply: 451, text: 'try later' }, times: 2 },
      ],
    });
    const c = await start();
    const job = await enqueueDelivery(redis, c, {
      from: '<sender@a.test>',
      to: ['<now@sink.test>', '<later@sink.test>'],
      hops: [{ host: next.host, preference: 0, port: next.port }],
    });
    const messages = await next.waitForMessages(2);
    expect(messages.map((m) => m.rcptTo)).toEqual([['now@sink.test'], ['later@sink.test']]);
    await gone(c, job.messageId, job.bodyKey);
    expect(await waitingTransactions(redis, c)).toEqual([]);
  });

  it('tries the next MX host when the first cannot be reached, by name through DNS', async () => {
    const port = await freePort();
    const second = await sink({ host: '127.0.0.3', port });
    const c = await start();
    const job = await enqueueDelivery(redis, c, {
      from: '<sender@a.test>',
      to: ['<x@sink.test>'],
      hops: [
        { host: '127.0.0.2', preference: 10, port }, // nobody listens there
        { host: 'mx2.hosts.test', preference: 20, port },
      ],
    });
    const [message] = await second.waitForMessages(1);
    expect(message!.rcptTo).toEqual(['x@sink.test']);
    await gone(c, job.messageId, job.bodyKey);
  });

  it('bounces what is still deferred when the queue lifetime ends, with "delivery time expired"', async () => {
    const next = await sink({ faults: [{ stage: 'rcpt', action: { reply: 451, text: 'busy' } }] });
    const c = await start((c) => (c.egress.retry = { scheduleMs: [50], maxLifetimeMs: 300 }));
    const job = await enqueueDelivery(redis, c, {
      from: '<sender@a.test>',
      to: ['<x@sink.test>'],
      hops: [{ host: next.host, preference: 0, port: next.port }],
    });
    const [dsn] = await eventually(async () => {
      const waiting = await waitingTransactions(redis, c);
      return waiting.length === 1 ? waiting : undefined;
    });
    expect(dsn!.body).toMatch(/Status: 4\.0\.0|Status: 4\.\d\.\d/);
    expect(dsn!.body).toContain('delivery time expired');
    await gone(c, job.messageId, job.bodyKey);
    await eventually(async () => {
      const state = await deliveryState(redis, c, job.id);
      return state === null || state.state === 'completed' ? true : undefined;
    });
  });

  it('never bounces a message whose reverse-path is null', async () => {
    const next = await sink();
    const c = await start();
    const job = await enqueueDelivery(redis, c, {
      from: '<>',
      to: ['<reject-x@sink.test>'],
      hops: [{ host: next.host, preference: 0, port: next.port }],
    });
    await gone(c, job.messageId, job.bodyKey);
    expect(await waitingTransactions(redis, c)).toEqual([]);
  });

  it('replays SOML and SAML as MAIL when the next hop refuses them; bounces a SEND it refuses (RFC 821 §3.4)', async () => {
    const next = await sink();
    const c = await start();
    const hops = [{ host: next.host, preference: 0, port: next.port }];
    for (const verb of ['SOML', 'SAML'] as const) {
      const job = await enqueueDelivery(redis, c, {
        from: '<a@a.test>',
        to: [`<${verb}@sink.test>`],
        verb,
        hops,
      });
      await gone(c, job.messageId, job.bodyKey);
    }
    expect(next.messages.map((m) => m.rcptTo)).toEqual([['SOML@sink.test'], ['SAML@sink.test']]);
    // SEND asks for the terminal only: a next hop that refuses it gets no mailbox delivery.
    const send = await enqueueDelivery(redis, c, {
      from: '<a@a.test>',
      to: ['<x@sink.test>'],
      verb: 'SEND',
      hops,
    });
    const [dsn] = await eventually(async () => {
      const waiting = await waitingTransactions(redis, c);
      return waiting.length === 1 ? waiting : undefined;
    });
    expect(dsn!.body).toMatch(
      /Final-Recipient: rfc822; x@sink\.test\r\nAction: failed\r\nStatus: 5\.\d+\.\d+/,
    );
    await gone(c, send.messageId, send.bodyKey);
    expect(next.messages).toHaveLength(2);
  });

  it('sends an 8-bit body as it is to a next hop without 8BITMIME, and bounces a UTF-8 recipient to one without SMTPUTF8', async () => {
    const next = await sink({ hide: ['8BITMIME', 'SMTPUTF8'] });
    const c = await start();
    const eight = Buffer.concat([BODY, Buffer.from('caf\xc3\xa9\r\n', 'latin1')]);
    const job = await enqueueDelivery(redis, c, {
      from: '<sender@a.test>',
      to: ['<x@sink.test>'],
      body: eight,
      hops: [{ host: next.host, preference: 0, port: next.port }],
    });
    const [message] = await next.waitForMessages(1);
    expect(message!.body).toEqual(eight);
    expect(message!.mailParams).not.toHaveProperty('BODY');
    await gone(c, job.messageId, job.bodyKey);

    const utf8 = await enqueueDelivery(redis, c, {
      from: '<sender@a.test>',
      to: ['<josé@sink.test>'],
      hops: [{ host: next.host, preference: 0, port: next.port }],
    });
    const [dsn] = await eventually(async () => {
      const waiting = await waitingTransactions(redis, c);
      return waiting.length === 1 ? waiting : undefined;
    });
    expect(dsn!.body).toMatch(/Status: 5\.6\.7/);
    await gone(c, utf8.messageId, utf8.bodyKey);
    expect(next.messages).toHaveLength(1);
  });

  it('takes a delivery again when another process recorded the same attempt first, so that its deferred recipient is still delivered', async () => {
    // Two runs of attempt 1 at once: the first process's lock is lost in the
    // middle of its attempt (deleted here, as a Redis restart can make it
    // lapse), so the job is taken again while the first still works. The
    // first run records its outcome (one recipient delivered, one deferred)
    // before the second, which holds the lock and finds attempt 1 recorded.
    // The stalls leave room for the stalled-job check to take the job again
    // (up to two stalledIntervals of 2 s each, more on a loaded CI machine):
    // the second run must reach its DATA before the first run's 250.
    const next = await sink({
      faults: [
        { stage: 'rcpt', match: 'later', action: { reply: 451, text: 'try later' }, times: 2 },
        { stage: 'data-end', action: { stallMs: 15_000 }, times: 1 },
        { stage: 'data-end', action: { stallMs: 20_000 }, times: 1 },
      ],
    });
    const c = egressConfig(server.url, (c) => {
      c.routing.dns = { servers: [dns.address], timeoutMs: 500 };
      c.egress.timeouts = { ...c.egress.timeouts, dataEndMs: 30_000 };
      // One job at a time: the process in the middle of the first run cannot
      // take the job again itself, so the second run is the other process's
      // (a worker that ran a job twice at once would stop extending the second
      // run's lock when the first ended, and a third run would come first).
      c.egress.concurrency = 1;
    });
    for (const instance of ['one', 'two']) {
      const egress = createEgress(c, { logger: quietLogger, instance });
      started.push(egress);
      await egress.start();
    }
    const job = await enqueueDelivery(redis, c, {
      from: '<sender@a.test>',
      to: ['<now@sink.test>', '<later@sink.test>'],
      hops: [{ host: next.host, preference: 0, port: next.port }],
    });
    await eventually(async () => (next.connections > 0 ? true : undefined));
    await redis.del(`${c.redis.prefix}:deliveries:${job.id}:lock`);
    // The deferred recipient arrives on a later attempt; the other was delivered twice (both runs).
    const later = await eventually(
      async () => next.messages.find((m) => m.rcptTo.includes('later@sink.test')),
      60_000,
    );
    expect(later.rcptTo).toEqual(['later@sink.test']);
    expect(next.messages.filter((m) => m.rcptTo.includes('now@sink.test'))).toHaveLength(2);
    await gone(c, job.messageId, job.bodyKey);
  }, 90_000);

  it('records a delivery made while Redis restarts once it is back, and does not make it again', async () => {
    const own = await startRedis({ own: true });
    const ownRedis = new Redis(own.url, { maxRetriesPerRequest: null });
    ownRedis.on('error', () => undefined);
    try {
      const next = await sink({ faults: [{ stage: 'data-end', action: { stallMs: 600 } }] });
      const c = egressConfig(own.url, (c) => {
        c.egress.lockDurationMs = 6_000;
      });
      const egress = createEgress(c, { logger: quietLogger, instance: 'patient' });
      started.push(egress);
      await egress.start();
      const job = await enqueueDelivery(ownRedis, c, {
        from: '<sender@a.test>',
        to: ['<once@sink.test>'],
        hops: [{ host: next.host, preference: 0, port: next.port }],
      });
      await eventually(async () => (next.connections > 0 ? true : undefined));
      // The message is at the next hop, waiting for its 250; Redis goes away
      // before egress can record it, and comes back on its AOF a moment later.
      await new Promise((r) => setTimeout(r, 200));
      await own.kill!();
      await new Promise((r) => setTimeout(r, 700));
      await own.restart!();
      await eventually(
        async () =>
          (await ownRedis.exists(job.bodyKey, refsKey(c.redis.prefix, job.messageId))) === 0
            ? true
            : undefined,
        20_000,
      );
      await new Promise((r) => setTimeout(r, 1_000));
      expect(next.messages.map((m) => m.rcptTo)).toEqual([['once@sink.test']]);
    } finally {
      ownRedis.disconnect();
      await Promise.all(started.splice(0).map((e) => e.stop()));
      await own.stop();
    }
  }, 60_000);
});

describe('connections', () => {
  it('are kept open between deliveries to the same next hop', async () => {
    const next = await sink();
    const c = await start();
    const hops = [{ host: next.host, preference: 0, port: next.port }];
    const first = await enqueueDelivery(redis, c, {
      from: '<a@a.test>',
      to: ['<x@sink.test>'],
      hops,
    });
    await next.waitForMessages(1);
    await enqueueDelivery(redis, c, { from: '<b@a.test>', to: ['<y@sink.test>'], hops });
    await next.waitForMessages(2);
    expect(next.connections).toBe(1);
    expect(next.messages.map((m) => m.connection)).toEqual([1, 1]);
    await gone(c, first.messageId, first.bodyKey);
  });

  it('are limited per destination across three egress processes', async () => {
    const next = await sink({ faults: [{ stage: 'data-end', action: { stallMs: 150 } }] });
    const limited = (c: PetrelConfig) => {
      c.egress.connectionsPerDestination = 2;
      c.egress.connectionCache = { idleMs: 50, maxMessages: 100 };
    };
    const c = await start(limited);
    for (let i = 0; i < 2; i++) {
      const other = createEgress(c, { logger: quietLogger, instance: `test-${i}` });
      started.push(other);
      await other.start();
    }
    const hops = [{ host: next.host, preference: 0, port: next.port }];
    const jobs = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        enqueueDelivery(redis, c, { from: '<a@a.test>', to: [`<x${i}@sink.test>`], hops }),
      ),
    );
    await next.waitForMessages(12, 30_000);
    expect(next.maxConcurrent).toBeLessThanOrEqual(2);
    expect(next.maxConcurrent).toBeGreaterThanOrEqual(1);
    for (const job of jobs) await gone(c, job.messageId, job.bodyKey);
  }, 60_000);

  it('count attempts and deferrals by reason and destination (listed or other)', async () => {
    const next = await sink({ faults: [{ stage: 'rcpt', action: { reply: 451, text: 'busy' } }] });
    const c = await start((c) => {
      c.egress.retry = { scheduleMs: [60_000], maxLifetimeMs: 600_000 };
      c.metrics.destinations = ['sink.test'];
    });
    const egress = started[0]!;
    await enqueueDelivery(redis, c, {
      from: '<sender@a.test>',
      to: ['<x@sink.test>'],
      receivedAt: new Date(Date.now() - 90_000),
      hops: [{ host: next.host, preference: 0, port: next.port }],
    });
    const metrics = await eventually(async () => {
      const text = await (await fetch(`${egress.health!.url}/metrics`)).text();
      return /^petrel_egress_deferrals_total\{reason="4yz",destination="sink.test"\} 1$/m.test(text)
        ? text
        : undefined;
    });
    expect(metrics).toMatch(
      /^petrel_egress_attempts_total\{outcome="deferred",class="4",destination="sink.test"\} 1$/m,
    );
    expect(metrics).toMatch(/^petrel_egress_deliveries_active\{destination="sink.test"\} 0$/m);
    expect(metrics).toMatch(/^petrel_build_info\{service="egress",version="\d+\.\d+\.\d+"\} 1$/m);
  });
});
