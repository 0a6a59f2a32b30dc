// A few Redis connections, each used by one commit at a time: WATCH is a
// property of the connection, so two commits sharing one would watch each
// other's keys. Each connection carries BullMQ's scripts (a Queue was opened
// on it) and the body reference script, so that a MULTI made from it can add
// jobs and adjust references in one transaction.
//
// Connections fail fast (createRedis): a commit whose EXEC reply is lost is
// retried by BullMQ, and the routed key tells the retry whether it committed.

import { defineAdjustRefs } from './message-refs.js';
import { QUEUES } from './queues.js';
import { createRedis } from './redis-client.js';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export interface ConnectionPoolOptions {
  readonly url: string;
  readonly prefix: string;
  readonly size: number;
  readonly commandTimeoutMs: number;
  readonly name: string;
}

export class ConnectionPool {
  readonly #free: Redis[] = [];
  readonly #waiting: ((connection: Redis) => void)[] = [];
  readonly #queues: Queue[] = [];
  readonly #raw: Redis[] = [];

  static async open(options: ConnectionPoolOptions): Promise<ConnectionPool> {
    const pool = new ConnectionPool();
    for (let i = 0; i < options.size; i++) {
      const raw = createRedis(options.url, {
        commandTimeoutMs: options.commandTimeoutMs,
        name: `${options.name}-commit-${i}`,
        prefix: options.prefix,
      });
      raw.on('error', () => undefined);
      defineAdjustRefs(raw);
      const queue = new Queue(QUEUES.transactions, { connection: raw, prefix: options.prefix });
      queue.on('error', () => undefined);
      pool.#raw.push(raw);
      pool.#queues.push(queue);
      pool.#free.push((await queue.getBackend().client) as unknown as Redis);
    }
    return pool;
  }

  async use<T>(work: (connection: Redis) => Promise<T>): Promise<T> {
    const connection =
      this.#free.pop() ?? (await new Promise<Redis>((resolve) => this.#waiting.push(resolve)));
    try {
      return await work(connection);
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next(connection);
      else this.#free.push(connection);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#queues.map((queue) => queue.close().catch(() => undefined)));
    for (const raw of this.#raw) raw.disconnect();
  }
}
