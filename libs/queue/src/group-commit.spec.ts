// GroupCommit on a real Redis: commits of one moment share a MULTI, each key
// is applied at most once, and a MULTI Redis refuses writes nothing.
import { spawnRedis, uniquePrefix, type RedisHandle } from '@petrel/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool } from './connection-pool.js';
import { GroupCommit } from './group-commit.js';
import { queueAdjustRefs } from './message-refs.js';

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

/** EXECs Redis has run (or refused for a WATCH) so far. */
async function execCalls(): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/cmdstat_exec:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

describe('GroupCommit', () => {
  it('commits the commits of one moment in one MULTI, each key once', async () => {
    const prefix = uniquePrefix('group');
    const commits = new GroupCommit({ pool, ttlSeconds: 60 });
    const before = await execCalls();
    const outcomes = await Promise.all(
      ['a', 'b', 'c', 'a', 'b'].map((name, i) =>
        commits.commit(`${prefix}:routed:${name}`, async (multi) => {
          multi.incr(`${prefix}:count:${name}`);
          multi.rpush(`${prefix}:order`, String(i));
        }),
      ),
    );
    const after = await execCalls();
    expect(outcomes).toEqual([true, true, true, false, false]);
    expect(await redis.mget(`${prefix}:count:a`, `${prefix}:count:b`, `${prefix}:count:c`)).toEqual(
      ['1', '1', '1'],
    );
    expect(await redis.get(`${prefix}:routed:a`)).toBe('done');
    expect(await redis.ttl(`${prefix}:routed:a`)).toBeGreaterThan(50);
    // Two groups (the repeated keys wait for the second): WATCH, EVAL, MULTI,
    // 3 x (INCR, RPUSH, SET), EXEC; then WATCH, EVAL, MULTI, 2 x (INCR,
    // RPUSH, SET), EXEC (not run: the guard found both keys).
    expect(after - before).toBe(2);
  });

  it('applies every script of the rest of a group refused for a key found, the script cache empty', async () => {
    // As just after a Redis restart: the refused MULTI carried the reference
    // script as EVAL, which never ran; the retry of the rest, on the same
    // socket, carries it as EVALSHA, which Redis does not know. Without the
    // scripts loaded first, the retry's SET of its key ran and its script
    // did not (NOSCRIPT): a commit by halves (a chaos run lost a recipient so).
    const prefix = uniquePrefix('noscript');
    const one = await ConnectionPool.open({
      url: server.url,
      prefix: '{g}',
      size: 1,
      commandTimeoutMs: 2000,
      name: 'group-commit-noscript',
    });
    try {
      await redis.script('FLUSH');
      await redis.set(`${prefix}:routed:old`, 'done', 'EX', 30);
      const commits = new GroupCommit({ pool: one, ttlSeconds: 60 });
      const outcomes = await Promise.all(
        ['old', 'new'].map((name) =>
          commits.commit(`${prefix}:routed:${name}`, async (multi) => {
            queueAdjustRefs(multi, { refs: `${prefix}:refs:${name}`, body: `${prefix}:body` }, 2);
          }),
        ),
      );
      expect(outcomes).toEqual([false, true]);
      expect(await redis.mget(`${prefix}:refs:old`, `${prefix}:refs:new`)).toEqual([null, '2']);
    } finally {
      await one.close();
    }
  });

  it('answers false for a key committed before and commits the rest of its group', async () => {
    const prefix = uniquePrefix('before');
    const commits = new GroupCommit({ pool, ttlSeconds: 60 });
    await redis.set(`${prefix}:routed:old`, 'done', 'EX', 30);
    const before = await execCalls();
    const outcomes = await Promise.all(
      ['old', 'new1', 'new2'].map((name) =>
        commits.commit(`${prefix}:routed:${name}`, async (multi) => {
          multi.incr(`${prefix}:count:${name}`);
        }),
      ),
    );
    const after = await execCalls();
    expect(outcomes).toEqual([false, true, true]);
    expect(
      await redis.mget(`${prefix}:count:old`, `${prefix}:count:new1`, `${prefix}:count:new2`),
    ).toEqual([null, '1', '1']);
    // The key found keeps its value and its expiry.
    expect(await redis.get(`${prefix}:routed:old`)).toBe('done');
    expect(await redis.ttl(`${prefix}:routed:old`)).toBeLessThanOrEqual(30);
    expect(await redis.ttl(`${prefix}:routed:old`)).toBeGreaterThan(20);
    // The first EXEC did not run (the guard found "old"); the second, without it, did.
    expect(after - before).toBe(2);
  });

  it('sends a lone commit without waiting for a read before its MULTI', async () => {
    const prefix = uniquePrefix('lone');
    const commits = new GroupCommit({ pool, ttlSeconds: 60 });
    const monitor = await redis.duplicate().monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) =>
      seen.push(String(args[0]).toLowerCase()),
    );
    expect(
      await commits.commit(`${prefix}:routed:x`, async (multi) => {
        multi.incr(`${prefix}:count:x`);
      }),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    monitor.disconnect();
    // WATCH, the guard, then the MULTI: no read waited for before the MULTI was sent.
    expect(seen.filter((c) => c !== 'info')).toEqual([
      'watch',
      'eval',
      'get',
      'multi',
      'incr',
      'set',
      'exec',
    ]);
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
