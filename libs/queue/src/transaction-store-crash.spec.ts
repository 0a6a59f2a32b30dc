// Crashes: Redis SIGKILLed before, during and after stores, then restarted
// from its AOF (appendfsync always). A store that resolved is never lost; a
// job never exists without its body; a store during the outage fails fast.
import { startRedis, uniquePrefix, type RedisHandle } from '@petrel/testing';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, disconnectAll, keys, ready, sampleRecord } from '../test/support/redis.js';
import { QUEUES } from './queues.js';
import { StoreError } from './store-error.js';
import type { TransactionJobV1 } from './transaction-job.js';
import { TransactionStore } from './transaction-store.js';

const COMMAND_TIMEOUT_MS = 500;
let handle: RedisHandle | null = null;
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  disconnectAll();
  await handle?.stop();
  handle = null;
});

async function setUp(prefix: string): Promise<TransactionStore> {
  handle = await startRedis({ own: true });
  const store = new TransactionStore({
    redis: connect(handle.url, COMMAND_TIMEOUT_MS),
    prefix,
    durability: 'fsync',
    replicas: 0,
    durabilityTimeoutMs: 500,
  });
  closers.push(() => store.close());
  await store.init();
  return store;
}

async function reader(url: string, prefix: string): Promise<Queue> {
  const queue = new Queue(QUEUES.transactions, { connection: await ready(url), prefix });
  queue.on('error', () => undefined);
  closers.push(() => queue.close());
  return queue;
}

describe('TransactionStore when Redis crashes', () => {
  it('rejects as unavailable within the command timeout while Redis is down, and stores nothing', async () => {
    const prefix = uniquePrefix('down');
    const store = await setUp(prefix);
    await handle!.kill!();

    const started = Date.now();
    const err = await store.store(sampleRecord(), [Buffer.from('lost?')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).reason).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS);

    await handle!.restart!();
    await store.settled();
    const redis = await ready(handle!.url);
    expect(await keys(redis, prefix, 'body:*')).toEqual([]);
    expect(
      await (await reader(handle!.url, prefix)).getJobCountByTypes('waiting', 'delayed', 'failed'),
    ).toBe(0);

    // The store's connection comes back by itself.
    let stored: TransactionJobV1 | null = null;
    const deadline = Date.now() + 5_000;
    while (stored === null && Date.now() < deadline) {
      stored = await store.store(sampleRecord(), [Buffer.from('after')]).catch(() => null);
      if (stored === null) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(stored).not.toBeNull();
  });

  it('keeps every store that resolved across kill -9 and an AOF replay', async () => {
    const prefix = uniquePrefix('survive');
    const store = await setUp(prefix);
    const stored = await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const body = Buffer.alloc(1000 + i);
        for (let j = 0; j < body.length; j++) body[j] = (i + j) % 256;
        return store.store(sampleRecord(), [body]).then((job) => ({ job, body }));
      }),
    );
    await handle!.kill!();
    await handle!.restart!();

    const redis = await ready(handle!.url);
    const queue = await reader(handle!.url, prefix);
    for (const { job, body } of stored) {
      expect((await redis.getBuffer(job.bodyKey))?.equals(body)).toBe(true);
      const found = await queue.getJob(job.id);
      expect(found?.data).toEqual(job);
      expect(await found?.getState()).toBe('waiting');
    }
  });

  it('never leaves a job without its body when Redis dies in the middle of stores', async () => {
    const prefix = uniquePrefix('middle');
    const store = await setUp(prefix);
    const resolved: TransactionJobV1[] = [];
    let failures = 0;
    let killed: Promise<void> | null = null;
    const sessions = Array.from({ length: 20 }, async () => {
      for (let i = 0; i < 20; i++) {
        try {
          resolved.push(await store.store(sampleRecord(), [Buffer.from(`body ${i}\r\n`)]));
        } catch (err) {
          expect(err).toBeInstanceOf(StoreError);
          failures++;
        }
        if (resolved.length >= 100 && killed === null) killed = handle!.kill!();
      }
    });
    await Promise.all(sessions);
    await killed;
    expect(failures).toBeGreaterThan(0);
    await handle!.restart!();
    await store.settled();

    const redis = await ready(handle!.url);
    const queue = await reader(handle!.url, prefix);
    // Every 250 the store allowed is still there, body and job.
    for (const job of resolved) {
      expect(await redis.exists(job.bodyKey)).toBe(1);
      expect((await queue.getJob(job.id))?.data).toEqual(job);
    }
    // No job without its body (orphan bodies are allowed: the sweeper's business).
    const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'failed']);
    for (const job of jobs)
      expect(await redis.exists((job.data as TransactionJobV1).bodyKey)).toBe(1);
    expect(jobs.length).toBeGreaterThanOrEqual(resolved.length);
  });
});
