// GroupCommit on a real Redis: commits of one moment share a MULTI, each key
// is applied at most once, and a MULTI Redis refuses writes nothing.
import { spawnRedis, uniquePrefix, type RedisHandle } from '@petrel/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool } from './connection-pool.js';
import { GroupCommit } from './group-commit.js';

let server: RedisHandle;
let redis: Redis;
let pool: ConnectionPool;

beforeAll(async () => {
  server = await spawnRedis({ appendfsync: 'no' });
  redis = new Redis(server.url);
  pool = await ConnectionPool.open({
    url: server.url,
    prefix: '{g}',
    size: 2,
    commandTimeoutMs: 2000,
    name: 'group-commit-test',
  });
});

afterAll(async () => {
  await pool.close();
  redis.disconnect();
  await server.stop();
});

describe('GroupCommit', () => {
  it('commits the commits of one moment in one MULTI, each key once', async () => {
    const prefix = uniquePrefix('group');
    const commits = new GroupCommit({ pool, ttlSeconds: 60 });
    const before = Number((await redis.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
    const outcomes = await Promise.all(
      ['a', 'b', 'c', 'a', 'b'].map((name, i) =>
        commits.commit(`${prefix}:routed:${name}`, async (multi) => {
          multi.incr(`${prefix}:count:${name}`);
          multi.rpush(`${prefix}:order`, String(i));
        }),
      ),
    );
    const after = Number((await redis.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
    expect(outcomes).toEqual([true, true, true, false, false]);
    expect(await redis.mget(`${prefix}:count:a`, `${prefix}:count:b`, `${prefix}:count:c`)).toEqual(
      ['1', '1', '1'],
    );
    expect(await redis.get(`${prefix}:routed:a`)).toBe('done');
    expect(await redis.ttl(`${prefix}:routed:a`)).toBeGreaterThan(50);
    // Two groups (the repeated keys wait for the second): WATCH, MGET, MULTI,
    // 3 x (INCR, RPUSH, SET), EXEC; then WATCH, MGET, UNWATCH. Plus INFO.
    expect(after - before).toBeLessThanOrEqual(17);
  });

  it('writes nothing when Redis refuses a queued command, and rejects every commit', async () => {
    const prefix = uniquePrefix('abort');
    const commits = new GroupCommit({ pool, ttlSeconds: 60 });
    const good = commits.commit(`${prefix}:routed:good`, async (multi) => {
      multi.set(`${prefix}:written`, 'yes');
    });
    const bad = commits.commit(`${prefix}:routed:bad`, async (multi) => {
      multi.call('NO-SUCH-COMMAND');
    });
    await expect(good).rejects.toThrow(/EXECABORT/);
    await expect(bad).rejects.toThrow(/EXECABORT/);
    expect(await redis.exists(`${prefix}:written`, `${prefix}:routed:good`)).toBe(0);
  });
});
