import type { Socket } from 'node:net';
import { startRedis, uniquePrefix, type RedisHandle } from '@petrel/testing';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  binaryBody,
  connect,
  disconnectAll,
  keys,
  ready,
  sampleRecord,
} from '../test/support/redis.js';
import { readEvents, type MessageEvent } from './message-events.js';
import { readStats } from './queue-stats.js';
import { QUEUES } from './queues.js';
import { StoreError } from './store-error.js';
import { TRANSACTION_JOB_NAME } from './transaction-job.js';
import { TransactionStore, type TransactionStoreOptions } from './transaction-store.js';

let redisServer: RedisHandle;
const stores: TransactionStore[] = [];
const queues: Queue[] = [];

beforeAll(async () => {
  redisServer = await startRedis();
});
afterAll(async () => {
  await redisServer.stop();
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const store of stores.splice(0)) await store.close();
  for (const queue of queues.splice(0)) await queue.close();
  disconnectAll();
});

function newStore(
  options: Partial<TransactionStoreOptions> = {},
  url = redisServer.url,
): TransactionStore {
  const store = new TransactionStore({
    redis: connect(url),
    prefix: uniquePrefix('store'),
    durability: 'fsync',
    replicas: 0,
    durabilityTimeoutMs: 500,
    ...options,
  });
  stores.push(store);
  return store;
}

/** A reader of the queue, as routing will be: its own connection. */
async function reader(prefix: string, url = redisServer.url): Promise<Queue> {
  const queue = new Queue(QUEUES.transactions, { connection: await ready(url), prefix });
  queue.on('error', () => undefined);
  queues.push(queue);
  return queue;
}

async function storeError(promise: Promise<unknown>): Promise<StoreError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreError);
  return err as StoreError;
}

describe('TransactionStore.store', () => {
  it('stores a transactions job with the exact data, and the body byte for byte', async () => {
    const prefix = uniquePrefix('exact');
    const store = newStore({ prefix });
    await store.init();
    const record = sampleRecord();
    const body = binaryBody();
    const stored = await store.store(record, body);

    const expectedBody = Buffer.concat(body);
    expect(stored).toEqual({ v: 1, ...record, size: 512, bodyKey: `${prefix}:body:${record.id}` });

    const queue = await reader(prefix);
    const job = await queue.getJob(record.id);
    expect(job).toBeDefined();
    expect(job!.id).toBe(record.id);
    expect(job!.name).toBe(TRANSACTION_JOB_NAME);
    expect(job!.data).toEqual(JSON.parse(JSON.stringify(stored)));
    expect(job!.data).toEqual(stored);
    expect(job!.opts).toMatchObject({
      attempts: 2_147_483_647,
      removeOnComplete: true,
      removeOnFail: false,
    });
    expect(await job!.getState()).toBe('waiting');

    const raw = await (await ready(redisServer.url)).getBuffer(stored.bodyKey);
    expect(raw).not.toBeNull();
    expect(raw!.equals(expectedBody)).toBe(true);
    for (let octet = 0; octet < 256; octet++) expect(raw!.includes(octet)).toBe(true);
  });

  it('stores an empty body and a one-chunk body', async () => {
    const store = newStore();
    await store.init();
    const empty = await store.store(sampleRecord(), []);
    expect(empty.size).toBe(0);
    const one = await store.store(sampleRecord(), [Buffer.from('Subject: x\r\n\r\nhi\r\n')]);
    expect(one.size).toBe(18);
    const redis = await ready(redisServer.url);
    expect((await redis.getBuffer(empty.bodyKey))!.length).toBe(0);
    expect((await redis.get(one.bodyKey))!).toBe('Subject: x\r\n\r\nhi\r\n');
  });

  it('keeps concurrent stores apart, in id order', async () => {
    const prefix = uniquePrefix('many');
    const store = newStore({ prefix });
    await store.init();
    const records = Array.from({ length: 50 }, () => sampleRecord());
    const stored = await Promise.all(
      records.map((r, i) => store.store(r, [Buffer.from(`message ${i}\r\n`)])),
    );
    expect(stored.map((job) => job.id)).toEqual(records.map((r) => r.id));
    const queue = await reader(prefix);
    expect(await queue.getJobCountByTypes('waiting')).toBe(50);
    const redis = await ready(redisServer.url);
    for (const [i, job] of stored.entries())
      expect(await redis.get(job.bodyKey)).toBe(`message ${i}\r\n`);
  });

  it('sends the commands of the stores begun in one turn of the event loop in one write', async () => {
    const prefix = uniquePrefix('corked');
    const redis = connect(redisServer.url);
    const store = newStore({ prefix, redis });
    await store.init();
    const stream = (redis as unknown as { stream: Socket }).stream;
    const writev = vi.spyOn(stream, '_writev');
    const stored = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.store(sampleRecord(), [Buffer.from(`message ${i}\r\n`)]),
      ),
    );
    expect(stored).toHaveLength(20);
    // The 20 MULTIs left together, behind the connection's one SCRIPT LOAD of
    // BullMQ's job add (multi-scripts.ts: once per connection).
    expect(writev.mock.calls[0]![0]).toHaveLength(21);
    expect(await (await reader(prefix)).getJobCountByTypes('waiting')).toBe(20);
  });

  it('refuses an envelope field with CR, LF or NUL and writes nothing', async () => {
    const prefix = uniquePrefix('unsafe');
    const store = newStore({ prefix });
    await store.init();
    const record = sampleRecord({
      client: { ...sampleRecord().client, helo: { verb: 'HELO', name: 'x\r\nRCPT TO:<y@z>' } },
    });
    const err = await storeError(store.store(record, [Buffer.from('x')]));
    expect(err.reason).toBe('error');
    expect(err.message).toContain('job.client.helo.name contains CR, LF or NUL');
    const redis = await ready(redisServer.url);
    expect(await keys(redis, prefix, 'body:*')).toEqual([]);
    expect(await (await reader(prefix)).getJob(record.id)).toBeUndefined();
  });

  it('refuses to store before init() and after close()', async () => {
    const store = newStore();
    expect((await storeError(store.store(sampleRecord(), []))).reason).toBe('error');
    await store.init();
    await store.close();
    expect((await storeError(store.store(sampleRecord(), []))).message).toContain('closed');
  });

  it('writes nothing when Redis refuses the MULTI of body and job (OOM)', async () => {
    const handle = await startRedis({ own: true });
    try {
      const prefix = uniquePrefix('oom');
      const store = newStore({ prefix, durability: 'none' }, handle.url);
      await store.init();
      const admin = await ready(handle.url);
      await admin.config('SET', 'maxmemory', '1');
      const err = await storeError(store.store(sampleRecord(), [Buffer.from('body')]));
      await admin.config('SET', 'maxmemory', '0');
      expect(err.reason).toBe('unavailable');
      expect(err.message).toContain('EXECABORT');
      await store.settled();
      expect(await keys(admin, prefix, 'body:*')).toEqual([]);
      expect(await (await reader(prefix, handle.url)).getJobCountByTypes('waiting')).toBe(0);
    } finally {
      await handle.stop();
    }
  });

  it('stores the next message after a refused MULTI, the script cache empty (a restart)', async () => {
    // The refused MULTI carried BullMQ's addJob as EVAL, which never ran; the
    // next MULTI on the socket would carry EVALSHA, unknown to Redis.
    const handle = await startRedis({ own: true });
    try {
      const prefix = uniquePrefix('noscript');
      const store = newStore({ prefix, durability: 'none' }, handle.url);
      await store.init();
      const admin = await ready(handle.url);
      await admin.script('FLUSH');
      await admin.config('SET', 'maxmemory', '1');
      const refused = await storeError(store.store(sampleRecord(), [Buffer.from('body')]));
      await admin.config('SET', 'maxmemory', '0');
      expect(refused.message).toContain('EXECABORT');
      const stored = await store.store(sampleRecord(), [Buffer.from('second')]);
      expect(await admin.get(stored.bodyKey)).toBe('second');
      const queue = await reader(prefix, handle.url);
      expect((await queue.getJob(stored.id))?.data).toEqual(stored);
    } finally {
      await handle.stop();
    }
  });

  it('withdraws the job of a MULTI whose EXEC timed out but ran, and keeps its body', async () => {
    const handle = await startRedis({ own: true });
    try {
      const prefix = uniquePrefix('paused');
      const store = newStore({ prefix, durability: 'none' }, handle.url);
      await store.init();
      const admin = await ready(handle.url);
      // Redis holds every write for 1.5 s: EXEC times out on the client (500 ms), then runs.
      await admin.call('CLIENT', 'PAUSE', '1500', 'WRITE');
      const record = sampleRecord();
      const err = await storeError(store.store(record, [Buffer.from('body')]));
      expect(err.reason).toBe('unavailable');
      expect(err.message).toContain('timed out');
      // The withdrawal was sent after EXEC on the same connection: it runs after it.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(await (await reader(prefix, handle.url)).getJob(record.id)).toBeUndefined();
      expect(await admin.exists(`${prefix}:body:${record.id}`)).toBe(1);
    } finally {
      await handle.stop();
    }
  });

  /** Over the size written in one MULTI: SET, then the job (the two-step path). */
  const BIG = Buffer.alloc(1024 * 1024 + 1, 'b');

  const received = (size: number): MessageEvent => ({
    event: 'received',
    service: 'ingress',
    instance: 'test:1',
    at: new Date().toISOString(),
    size,
  });

  it('records the received event and the accepted counter in the MULTI of body and job', async () => {
    const prefix = uniquePrefix('event');
    const redis = connect(redisServer.url);
    const store = newStore({ prefix, redis });
    await store.init();
    const admin = await ready(redisServer.url);
    const stream = (redis as unknown as { stream: Socket }).stream;
    const writes: string[] = [];
    const text = (chunk: unknown) => Buffer.from(chunk as Buffer).toString('latin1');
    vi.spyOn(stream, '_write').mockImplementation(function (this: Socket, chunk, encoding, cb) {
      writes.push(text(chunk));
      return Object.getPrototypeOf(stream)._write.call(this, chunk, encoding, cb);
    });
    vi.spyOn(stream, '_writev').mockImplementation(function (this: Socket, chunks, cb) {
      writes.push(chunks.map((c) => text(c.chunk)).join(''));
      return Object.getPrototypeOf(stream)._writev.call(this, chunks, cb);
    });
    const record = sampleRecord();
    await store.store(record, [Buffer.from('body\r\n')], { event: received(6) });
    // One write, one MULTI/EXEC: body, job, event and counter.
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(
      /MULTI[\s\S]*\bset\b[\s\S]*\bxadd\b[\s\S]*\bhincrby\b[\s\S]*\bexec\b/i,
    );
    expect(await readEvents(admin, prefix, record.id)).toEqual([
      { ...received(6), at: expect.any(String) },
    ]);
    expect((await readStats(admin, prefix)).accepted).toBe(1);
  });

  it('records neither the event nor the counter when Redis refuses the MULTI (OOM)', async () => {
    const handle = await startRedis({ own: true });
    try {
      const prefix = uniquePrefix('oom-event');
      const store = newStore({ prefix, durability: 'none' }, handle.url);
      await store.init();
      const admin = await ready(handle.url);
      await admin.config('SET', 'maxmemory', '1');
      const record = sampleRecord();
      await storeError(store.store(record, [Buffer.from('body')], { event: received(4) }));
      await admin.config('SET', 'maxmemory', '0');
      await store.settled();
      expect(await readEvents(admin, prefix, record.id)).toEqual([]);
      expect((await readStats(admin, prefix)).accepted).toBe(0);
    } finally {
      await handle.stop();
    }
  });

  it('records the event of a large body after its job', async () => {
    const prefix = uniquePrefix('big-event');
    const store = newStore({ prefix });
    await store.init();
    const admin = await ready(redisServer.url);
    const record = sampleRecord();
    await store.store(record, [BIG], { event: received(BIG.length) });
    await expect.poll(async () => (await readStats(admin, prefix)).accepted).toBe(1);
    expect(await readEvents(admin, prefix, record.id)).toMatchObject([
      { event: 'received', size: BIG.length },
    ]);
  });

  it('deletes a large body when Redis refuses its job (no job can exist)', async () => {
    const prefix = uniquePrefix('refused');
    const store = newStore({ prefix });
    await store.init();
    const refusal = Object.assign(
      new Error('OOM command not allowed when used memory > maxmemory'),
      { name: 'ReplyError' },
    );
    vi.spyOn(Queue.prototype, 'add').mockRejectedValueOnce(refusal);
    const err = await storeError(store.store(sampleRecord(), [BIG]));
    expect(err.reason).toBe('unavailable');
    await store.settled();
    expect(await keys(await ready(redisServer.url), prefix, 'body:*')).toEqual([]);
    expect(await (await reader(prefix)).getJobCountByTypes('waiting', 'delayed', 'failed')).toBe(0);
  });

  it('withdraws the job of a large body whose add timed out after it ran, and keeps its body', async () => {
    const prefix = uniquePrefix('unknown');
    const store = newStore({ prefix });
    await store.init();
    const add = Queue.prototype.add;
    vi.spyOn(Queue.prototype, 'add').mockImplementationOnce(async function (this: Queue, ...args) {
      await add.apply(this, args);
      throw new Error('Command timed out');
    });
    const record = sampleRecord();
    const err = await storeError(store.store(record, [BIG]));
    expect(err.reason).toBe('unavailable');
    await store.settled();
    expect(await (await reader(prefix)).getJob(record.id)).toBeUndefined();
    // The body may be referenced by a job routing already took: it stays for the sweeper.
    expect(await keys(await ready(redisServer.url), prefix, 'body:*')).toEqual([
      `${prefix}:body:${record.id}`,
    ]);
  });

  it('rejects as unavailable within the command timeout when Redis stops answering', async () => {
    const handle = await startRedis({ own: true });
    try {
      const store = newStore({ durability: 'fsync' }, handle.url);
      await store.init();
      process.kill(handle.pid!, 'SIGSTOP');
      try {
        const started = Date.now();
        const err = await storeError(store.store(sampleRecord(), [Buffer.from('body')]));
        expect(err.reason).toBe('unavailable');
        expect(err.message).toContain('Command timed out');
        expect(Date.now() - started).toBeLessThan(500 + 400);
      } finally {
        process.kill(handle.pid!, 'SIGCONT');
      }
    } finally {
      await handle.stop();
    }
  });
});

describe('TransactionStore.init', () => {
  it('passes durability fsync against appendfsync always', async () => {
    const facts = await newStore({ durability: 'fsync' }).init();
    expect(facts).toMatchObject({
      appendonly: true,
      appendfsync: 'always',
      maxmemoryPolicy: 'noeviction',
    });
  });

  it('refuses durability fsync against appendfsync everysec, naming the setting', async () => {
    const handle = await startRedis({ appendfsync: 'everysec' });
    try {
      const init = newStore({ durability: 'fsync' }, handle.url).init();
      await expect(init).rejects.toThrow(/cannot keep the promise of durability 'fsync'/);
      await expect(init).rejects.toThrow(/appendfsync is everysec: .*set appendfsync always/);
      // 'none' promises nothing about the disk.
      await expect(newStore({ durability: 'none' }, handle.url).init()).resolves.toMatchObject({
        appendfsync: 'everysec',
      });
    } finally {
      await handle.stop();
    }
  });

  it('refuses an evicting maxmemory-policy, naming the setting, even for durability none', async () => {
    const handle = await startRedis({ maxmemoryPolicy: 'allkeys-lru' });
    try {
      for (const durability of ['none', 'fsync'] as const) {
        await expect(newStore({ durability }, handle.url).init()).rejects.toThrow(
          'maxmemory-policy is allkeys-lru: Redis may evict queued mail; set maxmemory-policy noeviction',
        );
      }
    } finally {
      await handle.stop();
    }
  });

  it('refuses durability fsync without AOF', async () => {
    const handle = await startRedis({ appendonly: false });
    try {
      await expect(newStore({ durability: 'fsync' }, handle.url).init()).rejects.toThrow(
        /appendonly is no: .*set appendonly yes/,
      );
    } finally {
      await handle.stop();
    }
  });

  it('fails when Redis cannot be reached, within its ready timeout', async () => {
    const handle = await startRedis({ own: true });
    await handle.stop();
    const started = Date.now();
    await expect(newStore({ readyTimeoutMs: 300 }, handle.url).init()).rejects.toThrow(
      /not ready after 300 ms/,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('validates its options', () => {
    expect(() => newStore({ durabilityTimeoutMs: 0 })).toThrow(/durabilityTimeoutMs/);
    expect(() => newStore({ replicas: -1 })).toThrow(/replicas/);
    expect(() => newStore({ prefix: '' })).toThrow(/prefix/);
  });
});

describe('TransactionStore.depth', () => {
  it('counts waiting, delayed, prioritized and active transactions, cached for a second', async () => {
    const prefix = uniquePrefix('depth');
    const store = newStore({ prefix, durability: 'none' });
    await store.init();
    expect(await store.depth()).toBe(0);
    for (let i = 0; i < 3; i++) await store.store(sampleRecord(), [Buffer.from('x')]);
    expect(await store.depth()).toBe(0); // cached
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect(await store.depth()).toBe(3);

    const queue = await reader(prefix);
    await queue.add('other', {}, { delay: 60_000 });
    await queue.add('other', {}, { priority: 5 });
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect(await store.depth()).toBe(5);
  });

  it('rejects when Redis is down, and does not cache the failure', async () => {
    const handle = await startRedis({ own: true });
    try {
      const store = newStore({ durability: 'none' }, handle.url);
      await store.init();
      await handle.kill!();
      await expect(store.depth()).rejects.toThrow();
      await handle.restart!();
      // The store's own client reconnects by itself.
      let depth: number | null = null;
      const deadline = Date.now() + 5_000;
      while (depth === null && Date.now() < deadline) {
        depth = await store.depth().catch(() => null);
        if (depth === null) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(depth).toBe(0);
    } finally {
      await handle.stop();
    }
  });
});
