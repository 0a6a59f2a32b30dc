// startRedis(): the Redis every Redis-backed test talks to. In order:
//   1. REDIS_URL, when set, unless the test must own the process (`own`) or
//      asked for a configuration (a Redis we did not start cannot be
//      reconfigured: CI that sets REDIS_URL must run it with AOF and
//      `appendfsync always`, as production's durability checks demand);
//   2. testcontainers (redis:7) when a Docker API answers, unless `own`;
//   3. redis-server spawned on a free 127.0.0.1 port in a fresh temp dir;
//   4. otherwise an Error that says how to install redis-server or set REDIS_URL.
// PETREL_TEST_REDIS=container demands step 2 (unless `own`): no Docker API, or
// a container that does not start, is an error instead of a fallback (CI's
// testcontainers step proves the path that way).
// Each test isolates its keys with uniquePrefix(), so one Redis can serve many.
//
// Does not: flush or share state between handles; the caller stops what it started.

import { hasConfig, type RedisConfigOptions } from './redis-args.js';
import { dockerAnswers, startRedisContainer } from './redis-container.js';
import type { RedisHandle } from './redis-handle.js';
import { spawnRedis } from './redis-process.js';

export interface RedisOptions extends RedisConfigOptions {
  /** The test kills or restarts Redis, so it must be a process it controls: skips REDIS_URL and containers. */
  readonly own?: boolean;
}

let containerWarned = false;

export async function startRedis(options: RedisOptions = {}): Promise<RedisHandle> {
  const own = options.own === true;
  const url = process.env['REDIS_URL'];
  if (!own && !hasConfig(options) && url !== undefined && url !== '') {
    return { kind: 'env', url, stop: async () => undefined };
  }
  const demanded = process.env['PETREL_TEST_REDIS'] === 'container' && !own;
  if (demanded && !(await dockerAnswers()))
    throw new Error(
      'startRedis: PETREL_TEST_REDIS=container, but no Docker API answers (DOCKER_HOST)',
    );
  if (!own && (demanded || (await dockerAnswers()))) {
    try {
      return await startRedisContainer(options);
    } catch (err) {
      if (demanded) throw err;
      if (!containerWarned) {
        containerWarned = true;
        console.warn(
          `startRedis: Docker answered but the redis container did not start (${String(err)}); spawning redis-server instead`,
        );
      }
    }
  }
  return spawnRedis(options);
}
