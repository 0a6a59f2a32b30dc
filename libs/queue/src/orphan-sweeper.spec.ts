// The orphan sweeper on a real Redis: only a body old enough, with no
// transactions job and no references, is deleted.
import { startRedis, uniquePrefix, type RedisHandle } from '@petrel/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepOrphanBodies } from './orphan-sweeper.js';
import { QUEUES } from './queues.js';
import { bodyKey, newMessageId, TRANSACTION_JOB_NAME } from './transaction-job.js';
import { refsKey } from './delivery-job.js';

let server: RedisHandle;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

describe('sweepOrphanBodies', () => {
  it('deletes an old body nothing references, and nothing else', async () => {
    const prefix = uniquePrefix('sweep');
    const hourAgo = Date.now() - 2 * 3_600_000;
    const orphan = newMessageId(hourAgo);
    const queued = newMessageId(hourAgo);
    const referenced = newMessageId(hourAgo);
    const young = newMessageId();
    for (const id of [orphan, queued, referenced, young])
      await redis.set(bodyKey(prefix, id), 'body');
    await redis.set(`${prefix}:body:not-a-ulid`, 'someone else');
    const queue = new Queue(QUEUES.transactions, { connection: redis, prefix });
    await queue.add(TRANSACTION_JOB_NAME, { v: 1, id: queued }, { jobId: queued });
    await queue.close();
    await redis.set(refsKey(prefix, referenced), '2');

    expect(await sweepOrphanBodies({ redis, prefix, minAgeMs: 3_600_000 })).toBe(1);
    expect(await redis.exists(bodyKey(prefix, orphan))).toBe(0);
    for (const id of [queued, referenced, young])
      expect(await redis.exists(bodyKey(prefix, id))).toBe(1);
    expect(await redis.exists(`${prefix}:body:not-a-ulid`)).toBe(1);
    expect(await sweepOrphanBodies({ redis, prefix, minAgeMs: 3_600_000 })).toBe(0);
  });
});
