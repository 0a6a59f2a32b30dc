// The store on Redis Cluster (a redis+cluster:// URL): three masters, a
// replica each. A connection goes to the master serving its prefix's slot
// (slot-connector.ts), and keeps storing through a planned failover of that
// master and then a crash of the one promoted: with durability 'replicas'
// (WAIT 1, the master's one replica), every store() that resolved is on the
// slot's last master, body and job. Stores refused meanwhile are the 4yz a
// client retries.
import { startRedisCluster, uniquePrefix, type RedisCluster } from '@petrel/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, disconnectAll, missingFrom, ready, startWriter } from '../test/support/redis.js';
import { hashSlot } from './hash-slot.js';
import { TransactionStore } from './transaction-store.js';

let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
}, 60_000);

afterAll(async () => {
  disconnectAll();
  await cluster?.stop();
});

async function portOf(redis: Redis): Promise<number> {
  return Number(/tcp_port:(\d+)/.exec(await redis.info('server'))?.[1]);
}

describe('TransactionStore on Redis Cluster', () => {
  it('computes the slot Redis Cluster computes, hash tags included', async () => {
    for (const key of [
      '{petrel}',
      '{petrel}:body:01JABC',
      '{petrel-1}:deliveries:wait',
      'petrel',
      '{}petrel',
      'a{b}c{d}',
      '{user1000}.following',
      'foo{}{bar}',
      'été{ü}',
      '',
    ])
      expect([key, hashSlot(key)]).toEqual([key, await cluster.slotOf(key)]);
  });

  it('connects each prefix to the master serving its slot', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const prefix = `{petrel-${i}}`;
      const redis = await ready(cluster.url, 2_000, prefix);
      const master = await cluster.masterOf(hashSlot(prefix));
      expect(await portOf(redis)).toBe(master.port);
      // A key of the prefix is served here: a MOVED would reject it.
      await redis.set(`${prefix}:probe`, '1');
      seen.add(master.port);
    }
    expect(seen.size).toBe(3); // 12 tags, three masters: each serves some
  });

  it('loses nothing it acknowledged across a planned failover and a master crash', async () => {
    const prefix = uniquePrefix('cluster');
    const slot = hashSlot(prefix);
    const store = new TransactionStore({
      redis: connect(cluster.url, 2_000, prefix),
      prefix,
      durability: 'replicas',
      replicas: 1,
      durabilityTimeoutMs: 2_000,
    });
    await store.init();

    const writer = startWriter(store);
    const { acknowledged, refused, storedBy } = writer;

    await storedBy(20);
    const first = await cluster.masterOf(slot);
    const second = await cluster.failover(slot);
    expect(second.port).not.toBe(first.port);
    await storedBy(acknowledged.length + 20, 30_000); // writing again, to the new master
    // Then the new master crashes: its replica, the first master, is promoted.
    const third = await cluster.killMaster(slot);
    expect(third.port).toBe(first.port);
    await second.restart!(); // as its pod would come back: it rejoins as a replica
    await storedBy(acknowledged.length + 20, 30_000);
    await writer.stop();
    await store.close();

    const last = await ready(cluster.url, 2_000, prefix);
    expect(await portOf(last)).toBe(third.port);
    const missing = await missingFrom(last, prefix, acknowledged);
    console.log(
      `cluster: ${acknowledged.length} acknowledged, ${refused.length} refused during the failovers, ${missing.length} missing`,
    );
    expect(missing).toEqual([]);
  }, 120_000);
});
