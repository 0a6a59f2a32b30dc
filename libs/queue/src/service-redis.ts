// The Redis a worker service (routing, egress) works with, besides its BullMQ
// worker's own connection: one fail-fast connection (createRedis) for its
// reads and its queues, and a pool of connections for its grouped commits
// (connection-pool.ts). Errors are reported, never thrown at the process.
//
// Does not: create the worker (workerOptions() gives its settings).

import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ConnectionPool } from './connection-pool.js';
import { createRedis } from './redis-client.js';

export interface ServiceRedisOptions {
  readonly url: string;
  readonly prefix: string;
  readonly commandTimeoutMs: number;
  /** CLIENT SETNAME of the connections ("petrel-routing-<instance>"). */
  readonly name: string;
  /** Commit connections: at most 4, and no more than the work in flight. */
  readonly concurrency: number;
  /** A connection or queue error, already explained. */
  readonly warn: (fields: Record<string, unknown>, message: string) => void;
}

export class ServiceRedis {
  readonly redis: Redis;
  readonly pool: ConnectionPool;
  readonly #prefix: string;
  readonly #warn: ServiceRedisOptions['warn'];
  readonly #queues: Queue[] = [];

  private constructor(redis: Redis, pool: ConnectionPool, options: ServiceRedisOptions) {
    this.redis = redis;
    this.pool = pool;
    this.#prefix = options.prefix;
    this.#warn = options.warn;
  }

  static async open(options: ServiceRedisOptions): Promise<ServiceRedis> {
    const redis = createRedis(options.url, {
      commandTimeoutMs: options.commandTimeoutMs,
      name: options.name,
      prefix: options.prefix,
    });
    redis.on('error', (err) => options.warn({ err: err.message }, 'Redis connection error'));
    const pool = await ConnectionPool.open({
      url: options.url,
      prefix: options.prefix,
      size: Math.min(options.concurrency, 4),
      commandTimeoutMs: options.commandTimeoutMs,
      name: options.name,
    });
    return new ServiceRedis(redis, pool, options);
  }

  /** A queue on the service's connection, under its prefix. */
  queue(name: string): Queue {
    const queue = new Queue(name, { connection: this.redis, prefix: this.#prefix });
    queue.on('error', (err) => this.#warn({ err: err.message, queue: name }, 'queue error'));
    this.#queues.push(queue);
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all(this.#queues.map((queue) => queue.close().catch(() => undefined)));
    await this.pool.close();
    this.redis.disconnect();
  }
}
