// Ingress's store over several shards (shards.ts): each transaction goes to
// the next shard in turn whose connection is ready, so that a shard whose
// master is failing over takes no new messages while the others do. With
// no shard ready, the next in turn is tried, and refuses (4yz). The depth
// (the high watermark's) is that of the shards that answer.
//
// Does not: move a message between shards, or retry a refused store on
// another shard (the client retries; a second try after an outcome unknown
// could store the message twice).

import type { Redis } from 'ioredis';
import type { RedisFacts } from './redis-facts.js';
import { prefixOfBodyKey } from './shards.js';
import type { TransactionJobV1 } from './transaction-job.js';
import type { StoreOptions, TransactionRecord, TransactionStore } from './transaction-store.js';

export interface StoreShard {
  readonly prefix: string;
  /** The shard's connection (createRedis with the shard's prefix). */
  readonly redis: Redis;
  readonly store: TransactionStore;
}

/** What ingress asks of its store: TransactionStore's, or ShardedStore's over several. */
export type MessageStore = Pick<TransactionStore, 'store' | 'depth'>;

export class ShardedStore implements MessageStore {
  readonly shards: readonly StoreShard[];
  #next = 0;

  constructor(shards: readonly StoreShard[]) {
    if (shards.length === 0) throw new Error('ShardedStore: no shards');
    this.shards = shards;
  }

  /** TransactionStore.init() of every shard (each master is checked); their facts, shard 0's first. */
  init(): Promise<RedisFacts[]> {
    return Promise.all(this.shards.map((shard) => shard.store.init()));
  }

  store(
    record: TransactionRecord,
    body: readonly Buffer[],
    options: StoreOptions = {},
  ): Promise<TransactionJobV1> {
    const n = this.shards.length;
    const start = this.#next;
    this.#next = (start + 1) % n;
    let chosen = this.shards[start]!;
    for (let i = 0; i < n; i++) {
      const shard = this.shards[(start + i) % n]!;
      if (shard.redis.status === 'ready') {
        chosen = shard;
        break;
      }
    }
    return chosen.store.store(record, body, options);
  }

  /**
   * Transactions not yet routed, in the shards that answer: a shard whose
   * master is failing over takes no new message (store() passes it over),
   * so its depth does not hold back the others'. Rejects only when no shard
   * answers.
   */
  async depth(): Promise<number> {
    const depths = await Promise.allSettled(this.shards.map((shard) => shard.store.depth()));
    let sum = 0;
    let answered = false;
    for (const depth of depths) {
      if (depth.status === 'rejected') continue;
      answered = true;
      sum += depth.value;
    }
    if (!answered) throw (depths[0] as PromiseRejectedResult).reason;
    return sum;
  }

  /** The shard that `job` was stored in. */
  shardOf(job: Pick<TransactionJobV1, 'bodyKey'>): StoreShard {
    const prefix = prefixOfBodyKey(job.bodyKey);
    const shard = this.shards.find((s) => s.prefix === prefix);
    if (shard === undefined) throw new Error(`no shard has the prefix "${prefix}"`);
    return shard;
  }

  /** Whether every shard's connection is ready. */
  ready(): boolean {
    return this.shards.every((shard) => shard.redis.status === 'ready');
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((shard) => shard.store.close()));
  }
}
