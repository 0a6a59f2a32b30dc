// Small helpers of the Redis groups a test owns (sentinel-group.ts,
// redis-cluster.ts): one command on a fresh connection, and polling until a
// condition holds.

import { Redis } from 'ioredis';

/** The reply of one command on a fresh connection to 127.0.0.1:`port`; rejects when nothing answers. */
export async function askRedis(port: number, ...command: string[]): Promise<unknown> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    redis.on('error', () => undefined);
    await redis.connect();
    return await redis.call(command[0]!, ...command.slice(1));
  } finally {
    redis.disconnect();
  }
}

/** Polls `probe` every 100 ms until it gives a value (a throw counts as none); rejects after `timeoutMs`. */
export async function pollUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
