// Message events on a real Redis: recorded in order, bounded in number and age.
import { startRedis, uniquePrefix, type RedisHandle } from '@petrel/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EVENTS_PER_MESSAGE,
  EVENTS_TTL_SECONDS,
  eventsKey,
  readEvents,
  recordEvent,
} from './message-events.js';

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

const event = (n: number) => ({
  event: n === 0 ? 'received' : 'attempt',
  service: 'test',
  instance: 'test:1',
  at: new Date(n).toISOString(),
  n,
});

describe('message events', () => {
  it('come back in the order they were recorded, with their fields', async () => {
    const prefix = uniquePrefix('events');
    for (let n = 0; n < 3; n++) await recordEvent(redis, prefix, 'm1', event(n));
    expect(await readEvents(redis, prefix, 'm1')).toEqual([event(0), event(1), event(2)]);
    expect(await readEvents(redis, prefix, 'unknown')).toEqual([]);
  });

  it('keep about the newest EVENTS_PER_MESSAGE, for EVENTS_TTL_SECONDS after the last', async () => {
    const prefix = uniquePrefix('events');
    for (let n = 0; n < EVENTS_PER_MESSAGE * 3; n++)
      await recordEvent(redis, prefix, 'm2', event(n));
    const events = await readEvents(redis, prefix, 'm2');
    // MAXLEN ~ trims whole stream nodes (100 entries each here): a little more may stay.
    expect(events.length).toBeGreaterThanOrEqual(EVENTS_PER_MESSAGE);
    expect(events.length).toBeLessThan(EVENTS_PER_MESSAGE + 101);
    expect(events.at(-1)).toEqual(event(EVENTS_PER_MESSAGE * 3 - 1));
    const ttl = await redis.ttl(eventsKey(prefix, 'm2'));
    expect(ttl).toBeGreaterThan(EVENTS_TTL_SECONDS - 10);
  });

  it('never reject when Redis fails (a lost event loses no mail)', async () => {
    const broken = new Redis(server.url, { lazyConnect: true, enableOfflineQueue: false });
    await expect(
      recordEvent(broken, uniquePrefix('events'), 'm3', event(0)),
    ).resolves.toBeUndefined();
    broken.disconnect();
  });
});
