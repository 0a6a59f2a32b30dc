// readEntries() against a real Redis and BullMQ: a job that moves to a state
// not yet read while the queue is being read (as a deferred delivery does
// when it is retried) is yielded once, not twice.
import { QUEUES } from '@petrel/queue';
import { startRedis, uniquePrefix, type RedisHandle } from '@petrel/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readEntries } from './entries.js';

let redis: RedisHandle;
let connection: Redis;

beforeAll(async () => {
  redis = await startRedis();
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  connection?.disconnect();
  await redis?.stop();
});

const transaction = (id: string) => ({
  v: 1,
  id,
  receivedAt: '2026-11-23T22:00:00.000Z',
  reversePath: { raw: 'a@client.test' },
  recipients: [{ forwardPath: { raw: 'b@dest.test' } }],
  size: 10,
  parameters: {},
});

it('yields a job that moves between states during the reading once', async () => {
  const prefix = uniquePrefix('entries');
  const queues = Object.fromEntries(
    [QUEUES.transactions, QUEUES.deliveries, QUEUES.held].map((name) => [
      name,
      new Queue(name, { connection, prefix }),
    ]),
  ) as Record<string, Queue>;
  await queues[QUEUES.transactions]!.add('t', transaction('M1'), { jobId: 'M1' });
  await queues[QUEUES.transactions]!.add('t', transaction('M2'), { jobId: 'M2' });

  const seen: string[] = [];
  for await (const { entry, bullState } of readEntries([
    {
      queues: {
        transactions: queues[QUEUES.transactions]!,
        deliveries: queues[QUEUES.deliveries]!,
        held: queues[QUEUES.held]!,
      },
    },
  ])) {
    seen.push(`${entry.id}:${bullState}`);
    if (entry.id === 'M1' && bullState === 'waiting') {
      // M1 leaves 'waiting' for 'delayed', a state the reading has yet to reach.
      await queues[QUEUES.transactions]!.remove('M1');
      await queues[QUEUES.transactions]!.add('t', transaction('M1'), {
        jobId: 'M1',
        delay: 60_000,
      });
    }
  }
  expect(seen.sort()).toEqual(['M1:waiting', 'M2:waiting']);
  for (const q of Object.values(queues)) await q.close();
});
