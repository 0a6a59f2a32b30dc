// Two ClientLimiter instances stand for two ingress replicas sharing one Redis.
import { createRedis, whenReady } from '@petrel/queue';
import { startRedis, uniquePrefix, type RedisHandle } from '@petrel/testing';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientLimiter, clientKey, type ClientLimiterOptions } from './client-limits.js';

let server: RedisHandle;
const clients: Redis[] = [];
const limiters: ClientLimiter[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});
afterEach(() => {
  for (const limiter of limiters.splice(0)) limiter.close();
  for (const client of clients.splice(0)) client.disconnect();
});

async function redisAt(url: string, commandTimeoutMs = 300): Promise<Redis> {
  const redis = createRedis(url, { commandTimeoutMs, name: 'petrel-limits-test' });
  redis.on('error', () => undefined);
  clients.push(redis);
  await whenReady(redis, 5_000);
  return redis;
}

type Limits = Omit<ClientLimiterOptions, 'redis' | 'prefix' | 'instance'>;

const defaults: Limits = {
  connectionsPerClient: 2,
  messagesPerClientPerMinute: 3,
  authFailuresPerClientPerHour: 3,
};

/** Two replicas, each with its own connection, on one prefix. */
async function replicas(
  limits: Partial<Limits> = {},
  url = server.url,
): Promise<[ClientLimiter, ClientLimiter]> {
  const prefix = uniquePrefix('limits');
  const make = async (instance: string) => {
    const limiter = new ClientLimiter({
      redis: await redisAt(url),
      prefix,
      instance,
      ...defaults,
      ...limits,
    });
    limiters.push(limiter);
    return limiter;
  };
  return [await make('ingress-a'), await make('ingress-b')];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ClientLimiter connections', () => {
  it('counts concurrent sessions of one address across replicas', async () => {
    const [a, b] = await replicas();
    const first = await a.openConnection('192.0.2.1');
    const second = await b.openConnection('192.0.2.1');
    expect([first.allowed, second.allowed]).toEqual([true, true]);
    expect((await a.openConnection('192.0.2.1')).allowed).toBe(false);
    expect((await b.openConnection('192.0.2.1')).allowed).toBe(false);
    expect((await b.openConnection('192.0.2.2')).allowed).toBe(true);

    await first.release();
    await first.release(); // idempotent
    const third = await b.openConnection('192.0.2.1');
    expect(third.allowed).toBe(true);
    expect((await a.openConnection('192.0.2.1')).allowed).toBe(false);
  });

  it('gives nothing back when a refused slot is released', async () => {
    const [a, b] = await replicas({ connectionsPerClient: 1 });
    const held = await a.openConnection('2001:db8::1');
    const refused = await b.openConnection('2001:db8::1');
    expect(refused.allowed).toBe(false);
    await refused.release();
    expect((await b.openConnection('2001:DB8::1')).allowed).toBe(false);
    await held.release();
    expect((await b.openConnection('2001:db8::1')).allowed).toBe(true);
  });

  it('forgets the sessions of a replica that crashed, after one lease', async () => {
    const [a, b] = await replicas({ connectionLeaseMs: 300 });
    expect((await a.openConnection('192.0.2.1')).allowed).toBe(true);
    expect((await a.openConnection('192.0.2.1')).allowed).toBe(true);
    a.close(); // stops refreshing, as a crash would
    expect((await b.openConnection('192.0.2.1')).allowed).toBe(false);
    await sleep(400);
    expect((await b.openConnection('192.0.2.1')).allowed).toBe(true);
  });

  it('keeps the sessions of a live replica past their lease by refreshing them', async () => {
    const [a, b] = await replicas({ connectionLeaseMs: 300 });
    await a.openConnection('192.0.2.1');
    await a.openConnection('192.0.2.1');
    await sleep(900);
    expect((await b.openConnection('192.0.2.1')).allowed).toBe(false);
  });

  it('counts an IPv4-mapped IPv6 address as its IPv4 address', async () => {
    const [a, b] = await replicas({ connectionsPerClient: 1 });
    expect((await a.openConnection('::ffff:192.0.2.7')).allowed).toBe(true);
    expect((await b.openConnection('192.0.2.7')).allowed).toBe(false);
    expect(clientKey('::FFFF:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('2001:DB8::1')).toBe('2001:db8::1');
  });
});

describe('ClientLimiter message rate', () => {
  it('allows the per-minute number of messages across replicas, then refuses', async () => {
    const [a, b] = await replicas();
    expect(await a.countMessage('192.0.2.1')).toBe(true);
    expect(await b.countMessage('192.0.2.1')).toBe(true);
    expect(await a.countMessage('192.0.2.1')).toBe(true);
    expect(await b.countMessage('192.0.2.1')).toBe(false);
    expect(await a.countMessage('192.0.2.1')).toBe(false);
    expect(await b.countMessage('192.0.2.9')).toBe(true);
  });

  it('allows again once the window has slid past', async () => {
    const [a, b] = await replicas({ messageWindowMs: 200 });
    for (let i = 0; i < 3; i++) expect(await a.countMessage('192.0.2.1')).toBe(true);
    expect(await b.countMessage('192.0.2.1')).toBe(false);
    await sleep(450); // two windows: nothing left inside the sliding one
    expect(await b.countMessage('192.0.2.1')).toBe(true);
  });
});

describe('ClientLimiter AUTH failures', () => {
  it('blocks an address on every replica once it has used up its failures', async () => {
    const [a, b] = await replicas();
    expect(await a.authBlocked('192.0.2.1')).toBe(false);
    expect(await a.authFailure('192.0.2.1')).toBe(true);
    expect(await b.authFailure('192.0.2.1')).toBe(true);
    expect(await b.authBlocked('192.0.2.1')).toBe(false);
    expect(await a.authFailure('192.0.2.1')).toBe(false);
    expect(await a.authBlocked('192.0.2.1')).toBe(true);
    expect(await b.authBlocked('192.0.2.1')).toBe(true);
    expect(await b.authBlocked('192.0.2.2')).toBe(false);
  });

  it('unblocks once the window has slid past', async () => {
    const [a, b] = await replicas({ authFailuresPerClientPerHour: 1, authWindowMs: 200 });
    expect(await a.authFailure('192.0.2.1')).toBe(false);
    expect(await b.authBlocked('192.0.2.1')).toBe(true);
    await sleep(450);
    expect(await b.authBlocked('192.0.2.1')).toBe(false);
  });
});

describe('ClientLimiter limits of 0', () => {
  it('disables the limit and never asks Redis', async () => {
    const handle = await startRedis({ own: true });
    const redis = await redisAt(handle.url);
    await handle.stop();
    const limiter = new ClientLimiter({
      redis,
      prefix: uniquePrefix('off'),
      instance: 'x',
      connectionsPerClient: 0,
      messagesPerClientPerMinute: 0,
      authFailuresPerClientPerHour: 0,
    });
    limiters.push(limiter);
    expect((await limiter.openConnection('192.0.2.1')).allowed).toBe(true);
    expect(await limiter.countMessage('192.0.2.1')).toBe(true);
    expect(await limiter.authFailure('192.0.2.1')).toBe(true);
    expect(await limiter.authBlocked('192.0.2.1')).toBe(false);
  });

  it('refuses negative or fractional limits', async () => {
    const redis = await redisAt(server.url);
    expect(
      () =>
        new ClientLimiter({
          redis,
          prefix: 'p',
          instance: 'x',
          ...defaults,
          connectionsPerClient: -1,
        }),
    ).toThrow(/connectionsPerClient/);
    expect(
      () =>
        new ClientLimiter({
          redis,
          prefix: 'p',
          instance: 'x',
          ...defaults,
          messagesPerClientPerMinute: 1.5,
        }),
    ).toThrow(/messagesPerClientPerMinute/);
  });
});

describe('ClientLimiter when Redis is unavailable', () => {
  async function expectQuickRejections(limiter: ClientLimiter, withinMs: number): Promise<void> {
    const calls: [string, () => Promise<unknown>][] = [
      ['openConnection', () => limiter.openConnection('192.0.2.1')],
      ['countMessage', () => limiter.countMessage('192.0.2.1')],
      ['authFailure', () => limiter.authFailure('192.0.2.1')],
      ['authBlocked', () => limiter.authBlocked('192.0.2.1')],
    ];
    for (const [, call] of calls) {
      const started = Date.now();
      await expect(call()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(withinMs);
    }
  }

  it('rejects at once when Redis is down', async () => {
    const handle = await startRedis({ own: true });
    try {
      const [a] = await replicas({}, handle.url);
      await handle.kill!();
      await expectQuickRejections(a, 50);
    } finally {
      await handle.stop();
    }
  });

  it('rejects within the command timeout when Redis hangs', async () => {
    const handle = await startRedis({ own: true });
    try {
      const [a] = await replicas({}, handle.url);
      const slot = await a.openConnection('192.0.2.1');
      process.kill(handle.pid!, 'SIGSTOP');
      try {
        await expectQuickRejections(a, 300 + 200);
        await expect(slot.release()).rejects.toThrow();
      } finally {
        process.kill(handle.pid!, 'SIGCONT');
      }
    } finally {
      await handle.stop();
    }
  });
});
