// Durability 'replicas' against a real primary and replica: WAIT (WAITAOF on
// 7.2+) succeeds while the replica is there; without it, store() rejects with
// 'durability-timeout' and withdraws the job that was not yet promised.
import { startRedis, uniquePrefix, type RedisHandle } from '@petrel/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, disconnectAll, ready, sampleRecord, until } from '../test/support/redis.js';
import { QUEUES } from './queues.js';
import { parseInfo } from './redis-facts.js';
import { StoreError } from './store-error.js';
import { TransactionStore } from './transaction-store.js';

let primary: RedisHandle;
let replica: RedisHandle;
const stores: TransactionStore[] = [];

beforeAll(async () => {
  // No 5 s wait before the first full sync (repl-diskless-sync-delay defaults to 5).
  primary = await startRedis({ own: true, extraArgs: ['--repl-diskless-sync-delay', '0'] });
  const port = new URL(primary.url).port;
  replica = await startRedis({ own: true, extraArgs: ['--replicaof', '127.0.0.1', port] });
  const redis = await ready(primary.url);
  const online = await until(
    async () => /state=online/.test(parseInfo(await redis.info('replication')).get('slave0') ?? ''),
    10_000,
  );
  if (!online) throw new Error('the replica did not come online');
});

afterAll(async () => {
  for (const store of stores) await store.close();
  disconnectAll();
  await replica.stop();
  await primary.stop();
});

function newStore(prefix: string, replicas: number, durabilityTimeoutMs = 1_000): TransactionStore {
  const store = new TransactionStore({
    redis: connect(primary.url),
    prefix,
    durability: 'replicas',
    replicas,
    durabilityTimeoutMs,
  });
  stores.push(store);
  return store;
}

describe('TransactionStore with durability replicas', () => {
  it('refuses to start when fewer replicas are online than asked for', async () => {
    await expect(newStore(uniquePrefix('two'), 2).init()).rejects.toThrow(
      'connected replicas is 1: durability replicas waits for 2; attach 2 online replicas or lower redis.replicas',
    );
  });

  it('resolves once the replica has the body and the job', async () => {
    const prefix = uniquePrefix('wait');
    const store = newStore(prefix, 1);
    const facts = await store.init();
    expect(facts.connectedReplicas).toBe(1);

    const stored = await store.store(sampleRecord(), [Buffer.from('replicated\r\n')]);
    const onReplica = await ready(replica.url);
    expect(await onReplica.get(stored.bodyKey)).toBe('replicated\r\n');
    expect(await onReplica.exists(`${prefix}:${QUEUES.transactions}:${stored.id}`)).toBe(1);
  });

  it("rejects with 'durability-timeout' when the replica is gone, and withdraws the job", async () => {
    const prefix = uniquePrefix('gone');
    const store = newStore(prefix, 1, 200);
    await store.init();
    await replica.stop();

    const record = sampleRecord();
    const started = Date.now();
    const err = await store.store(record, [Buffer.from('not promised')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).reason).toBe('durability-timeout');
    expect((err as StoreError).message).toMatch(
      /(WAIT: 0 of 1 replica acknowledged|WAITAOF: .*replicas 0 of 1) .*within 200 ms/,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(1_000);

    await store.settled();
    const queue = new Queue(QUEUES.transactions, { connection: await ready(primary.url), prefix });
    queue.on('error', () => undefined);
    try {
      expect(await queue.getJob(record.id)).toBeUndefined();
    } finally {
      await queue.close();
    }
  });
});
