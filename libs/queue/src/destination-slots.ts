// A limit on concurrent connections per destination that holds across every
// egress process, because its state is in Redis (Postfix's
// default_destination_concurrency_limit, for a cluster): a sorted set per
// destination of slot ids, each scored by its lease's expiry. The process that
// holds a slot refreshes its lease while the connection is open; one that
// crashes stops refreshing, so its slots stop counting after one lease instead
// of blocking the destination for ever. Redis's clock (TIME) decides expiry, so
// processes with skewed clocks agree.
//
// Does not: wait for a slot (the caller decides what to do when none is free),
// or know what a destination is (the caller names it: "address:port").

import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** KEYS[1] the destination's set; ARGV[1] slot id, ARGV[2] lease ms, ARGV[3] limit. 1: taken; 0: full. */
const ACQUIRE = `${NOW}
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease)
return 1
`;

/** KEYS[1] the destination's set; ARGV[1] lease ms, ARGV[2..] slot ids still held. */
const REFRESH = `${NOW}
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], lease)
return 1
`;

interface WithScripts {
  petrelSlotAcquire(key: string, id: string, leaseMs: number, limit: number): Promise<number>;
  petrelSlotRefresh(key: string, leaseMs: number, ...ids: string[]): Promise<number>;
}

export interface DestinationSlotsOptions {
  readonly redis: Redis;
  /** The hash-tagged prefix; sets live under `<prefix>:slots:<destination>`. */
  readonly prefix: string;
  /** Connections at once per destination, across processes. */
  readonly limit: number;
  /** Default 60 s; refreshed every third of it. */
  readonly leaseMs?: number;
}

export interface DestinationSlot {
  /** Gives the slot back (idempotent). */
  release(): Promise<void>;
}

export class DestinationSlots {
  readonly #o: DestinationSlotsOptions;
  readonly #lease: number;
  /** Destination key → the slot ids this process holds there. */
  readonly #held = new Map<string, Set<string>>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: DestinationSlotsOptions) {
    this.#o = options;
    this.#lease = options.leaseMs ?? 60_000;
    const redis = options.redis as Redis & Partial<WithScripts>;
    if (redis.petrelSlotAcquire === undefined) {
      options.redis.defineCommand('petrelSlotAcquire', { numberOfKeys: 1, lua: ACQUIRE });
      options.redis.defineCommand('petrelSlotRefresh', { numberOfKeys: 1, lua: REFRESH });
    }
    this.#timer = setInterval(() => void this.#refresh(), Math.max(100, this.#lease / 3));
    this.#timer.unref();
  }

  /** A slot at the destination, or null when it has `limit` connections already. */
  async acquire(destination: string): Promise<DestinationSlot | null> {
    const key = `${this.#o.prefix}:slots:${destination}`;
    const id = randomBytes(8).toString('hex');
    const scripts = this.#o.redis as unknown as WithScripts;
    const taken = await scripts.petrelSlotAcquire(key, id, this.#lease, this.#o.limit);
    if (taken !== 1) return null;
    let ids = this.#held.get(key);
    if (ids === undefined) this.#held.set(key, (ids = new Set()));
    ids.add(id);
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        ids.delete(id);
        if (ids.size === 0) this.#held.delete(key);
        await this.#o.redis.zrem(key, id).catch(() => undefined);
      },
    };
  }

  /** How many slots this process holds (tests, metrics). */
  get held(): number {
    let n = 0;
    for (const ids of this.#held.values()) n += ids.size;
    return n;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #refresh(): Promise<void> {
    const scripts = this.#o.redis as unknown as WithScripts;
    await Promise.all(
      [...this.#held].map(([key, ids]) =>
        scripts.petrelSlotRefresh(key, this.#lease, ...ids).catch(() => undefined),
      ),
    );
  }
}
