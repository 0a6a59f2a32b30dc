// The connection cache's wait for a destination slot, on a real Redis and
// real leased slots (libs/queue): however many deliveries of one process wait
// for a slot of one destination, the process asks Redis about once per 50 ms,
// and a waiter gets the slot freed by another process. The connections are
// stand-ins: only their slots matter here.
import { LeasedSlots } from '@petrel/queue';
import { startRedis, uniquePrefix, type RedisHandle } from '@petrel/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionCache } from './connection-cache.js';
import type { NextHopConnection, NextHopOptions } from './next-hop/index.js';

let server: RedisHandle;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

function leases(owner: string): { slots: LeasedSlots; asked: () => number } {
  const redis = new Redis(server.url);
  clients.push(redis);
  const slots = new LeasedSlots({ redis, owner });
  let asked = 0;
  const acquire = slots.acquire.bind(slots);
  slots.acquire = (key, limit) => {
    asked++;
    return acquire(key, limit);
  };
  return { slots, asked: () => asked };
}

function cache(slots: LeasedSlots, prefix: string, waitMs: number): ConnectionCache {
  return new ConnectionCache({
    open: async () => ({
      ok: true,
      connection: { reusable: true, close: async () => undefined } as unknown as NextHopConnection,
    }),
    slots: { leases: slots, prefix, limit: 1 },
    idleMs: 10,
    maxMessages: 100,
    waitMs,
  });
}

const target = {
  target: { address: '192.0.2.1', port: 25 },
  tls: 'none',
  credentials: null,
} as unknown as NextHopOptions;

describe('ConnectionCache, waiting for a slot', () => {
  it('asks Redis about once per 50 ms however many deliveries wait, and takes a slot freed elsewhere', async () => {
    const prefix = uniquePrefix('slots');
    const other = leases('other');
    const holder = cache(other.slots, prefix, 1_000);
    const held = await holder.acquire(target);
    expect(held.kind).toBe('connection');

    const mine = leases('mine');
    const waiting = cache(mine.slots, prefix, 1_000);
    const started = Date.now();
    const waiters = Array.from({ length: 20 }, () => waiting.acquire(target));
    await new Promise((r) => setTimeout(r, 500));
    // 20 first asks, then at most one per 50 ms for all of them: about 30, not 200.
    expect(mine.asked()).toBeLessThanOrEqual(20 + 500 / 50 + 2);

    await holder.close(); // nothing idle yet: the lease is in use
    if (held.kind === 'connection') await holder.release(held.lease); // closed: the slot is freed
    const outcomes = await Promise.all(waiters);
    const got = outcomes.filter((o) => o.kind === 'connection');
    expect(got.length).toBeGreaterThanOrEqual(1);
    expect(outcomes.filter((o) => o.kind === 'busy').length).toBe(20 - got.length);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});
