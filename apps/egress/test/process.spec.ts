// The egress process as an operator runs it (`node apps/egress/dist/main.js`),
// SIGKILLed twice in the middle of the same delivery: each time the next hop
// holds the end of DATA unanswered, so the process dies with the message sent
// and not acknowledged. After the second restart the delivery is made, once;
// BullMQ never moved it to `failed` (maxStalledCount is effectively unlimited),
// and the body went with its last reference.
import { refsKey } from '@petrel/queue';
import {
  ensureServiceBuilt,
  eventually,
  freePort,
  killServices,
  spawnService,
  startRedis,
  startTestSink,
  type RedisHandle,
  type ServiceProcess,
} from '@petrel/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deliveryState, egressConfig, enqueueDelivery } from './support/egress-harness.js';

let server: RedisHandle;
let redis: Redis;

beforeAll(async () => {
  await ensureServiceBuilt('egress');
  server = await startRedis();
  redis = new Redis(server.url);
}, 300_000);

afterEach(() => killServices());

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

function spawnEgress(prefix: string): ServiceProcess {
  return spawnService('egress', {
    PETREL_REDIS__URL: server.url,
    PETREL_REDIS__PREFIX: `'${prefix}'`,
    PETREL_REDIS__DURABILITY: 'none',
    PETREL_INGRESS__HOSTNAME: 'mx.petrel.test',
    PETREL_EGRESS__TLS: 'none',
    PETREL_EGRESS__LOCK_DURATION: '1s',
    PETREL_EGRESS__TIMEOUTS__DATA_END: '30s',
    PETREL_METRICS__PORT: '0',
    PETREL_LOG__LEVEL: 'warn',
  });
}

describe('the egress process', () => {
  it('killed twice in the middle of DATA: the delivery is made once afterwards, never failed', async () => {
    const sink = await startTestSink({
      faults: [{ stage: 'data-end', action: { stallMs: 20_000 }, times: 2 }],
    });
    try {
      const c = egressConfig(server.url);
      const job = await enqueueDelivery(redis, c, {
        from: '<sender@a.test>',
        to: ['<x@sink.test>', '<y@sink.test>'],
        hops: [{ host: sink.host, preference: 0, port: sink.port }],
      });
      for (let kill = 1; kill <= 2; kill++) {
        const egress = spawnEgress(c.redis.prefix);
        // The body is on the wire and the next hop sits on the final dot.
        await eventually(async () => {
          if (egress.child.exitCode !== null) throw new Error(egress.stderr());
          return sink.connections >= kill && sink.open > 0 ? true : undefined;
        }, 20_000);
        await new Promise((resolve) => setTimeout(resolve, 200));
        egress.child.kill('SIGKILL');
        await egress.exited;
        expect(sink.messages).toHaveLength(0);
      }
      const last = spawnEgress(c.redis.prefix);
      const [message] = await sink.waitForMessages(1, 20_000);
      expect(message!.rcptTo).toEqual(['x@sink.test', 'y@sink.test']);
      await eventually(async () =>
        (await redis.exists(job.bodyKey, refsKey(c.redis.prefix, job.messageId))) === 0
          ? true
          : undefined,
      );
      // BullMQ completes (and removes) the job just after the attempt's commit.
      await eventually(async () => {
        const state = await deliveryState(redis, c, job.id);
        return state === null || state.state === 'completed' ? true : undefined;
      });
      expect(sink.messages).toHaveLength(1);
      last.child.kill('SIGTERM');
      expect(await last.exited).toEqual({ code: 0, signal: null });
    } finally {
      await sink.close();
    }
  }, 120_000);

  it('exits on SIGTERM just after a Redis restart, within its drain timeout', async () => {
    // BullMQ's worker.close() waits for ever on a connection still reconnecting
    // (taskforcesh/bullmq#4656): egress hung for an hour in a chaos run.
    const own = await startRedis({ own: true });
    try {
      const metrics = await freePort();
      const egress = spawnService('egress', {
        PETREL_REDIS__URL: own.url,
        PETREL_REDIS__DURABILITY: 'none',
        PETREL_EGRESS__TLS: 'none',
        PETREL_EGRESS__DRAIN_TIMEOUT: '2s',
        PETREL_METRICS__PORT: String(metrics),
        PETREL_LOG__LEVEL: 'warn',
      });
      await eventually(async () => {
        if (egress.child.exitCode !== null) throw new Error(egress.stderr());
        const status = await fetch(`http://127.0.0.1:${metrics}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        return status === 200 ? true : undefined;
      }, 20_000);
      await own.kill!();
      await own.restart!();
      const sent = Date.now();
      egress.child.kill('SIGTERM');
      const exit = await Promise.race([
        egress.exited,
        new Promise((resolve) => setTimeout(() => resolve('still running after 15 s'), 15_000)),
      ]);
      expect(exit, egress.stdout()).toEqual({ code: 0, signal: null });
      expect(Date.now() - sent).toBeLessThan(10_000);
    } finally {
      await own.stop();
    }
  }, 60_000);
});
