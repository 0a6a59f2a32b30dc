// Shards (shards.ts) and ingress's store over them (sharded-store.ts), on a
// real Redis: the prefixes, the turn taken by each transaction, a shard whose
// connection is down being passed over, and the depth of all shards.
import { startRedis, uniquePrefix, type RedisHandle } from '@petrel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, disconnectAll, ready, sampleRecord } from '../test/support/redis.js';
import { hashSlot } from './hash-slot.js';
import { ShardedStore, type StoreShard } from './sharded-store.js';
import { prefixOfBodyKey, shardPrefixes } from './shards.js';
import { TransactionStore } from './transaction-store.js';

let server: RedisHandle;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  disconnectAll();
  await server?.stop();
});

describe('shardPrefixes', () => {
  it('keeps shard 0 as the prefix and suffixes the hash tag of the others', () => {
    expect(shardPrefixes('{petrel}', 1)).toEqual(['{petrel}']);
    expect(shardPrefixes('{petrel}', 3)).toEqual(['{petrel}', '{petrel-1}', '{petrel-2}']);
    expect(shardPrefixes('mail:{petrel}:q', 2)).toEqual(['mail:{petrel}:q', 'mail:{petrel-1}:q']);
    expect(shardPrefixes('petrel', 2)).toEqual(['petrel', 'petrel-1']);
    // Adding shards keeps the existing ones.
    expect(shardPrefixes('{petrel}', 5).slice(0, 3)).toEqual(shardPrefixes('{petrel}', 3));
  });

  it('puts the default three shards in the three thirds of the slot range', () => {
    const thirds = shardPrefixes('{petrel}', 3).map((p) => Math.floor((hashSlot(p) * 3) / 16384));
    expect(new Set(thirds).size).toBe(3);
  });

  it('finds the shard of a body key', () => {
    expect(prefixOfBodyKey('{petrel-2}:body:01JABC')).toBe('{petrel-2}');
    expect(() => prefixOfBodyKey('{petrel}:refs:01JABC')).toThrow('not a body key');
  });
});

describe('ShardedStore', () => {
  function shards(count: number): StoreShard[] {
    return shardPrefixes(uniquePrefix('sharded'), count).map((prefix) => {
      const redis = connect(server.url, 2_000, prefix);
      return {
        prefix,
        redis,
        store: new TransactionStore({
          redis,
          prefix,
          durability: 'none',
          replicas: 1,
          durabilityTimeoutMs: 1_000,
        }),
      };
    });
  }

  it('stores each transaction in the next shard in turn, and counts the depth of all', async () => {
    const store = new ShardedStore(shards(3));
    await store.init();
    const jobs = [];
    for (let i = 0; i < 6; i++)
      jobs.push(await store.store(sampleRecord(), [Buffer.from('x\r\n')]));
    const placed = jobs.map((job) => store.shardOf(job).prefix);
    expect(placed).toEqual([...store.shards, ...store.shards].map((s) => s.prefix));
    const check = await ready(server.url);
    for (const job of jobs) expect(await check.exists(job.bodyKey)).toBe(1);
    expect(await store.depth()).toBe(6);
    await store.close();
  });

  it('passes over a shard whose connection is down', async () => {
    const list = shards(2);
    const store = new ShardedStore(list);
    await store.init();
    list[0]!.redis.disconnect();
    await new Promise((resolve) => list[0]!.redis.once('end', resolve));
    const jobs = [];
    for (let i = 0; i < 4; i++)
      jobs.push(await store.store(sampleRecord(), [Buffer.from('x\r\n')]));
    expect(new Set(jobs.map((job) => store.shardOf(job).prefix))).toEqual(
      new Set([list[1]!.prefix]),
    );
    expect(store.ready()).toBe(false);
    expect(await store.depth()).toBe(4); // the shard that answers
    await store.close();
  });
});
