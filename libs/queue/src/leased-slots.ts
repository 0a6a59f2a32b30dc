// A limit on things open at once that holds across every process sharing one
// Redis: ingress's connections per client address, egress's connections per
// destination. Each limited thing is a sorted set of slot ids, each scored by
// its lease's expiry. The process that holds a slot refreshes its lease while
// the thing is open; one that crashes stops refreshing, so its slots stop
// counting after one lease instead of blocking for ever. Redis's clock (TIME)
// decides expiry, so processes with skewed clocks agree. Each step is one Lua
// script on one key.
//
// Does not: wait for a slot (the caller decides what to do when none is free),
// or name the keys (the caller does, under its hash-tagged prefix).

import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Takes a slot if fewer than the limit are held.
 *   KEYS[1] sorted set: member = slot id, score = lease expiry (ms)
 *   ARGV[1] slot id, ARGV[2] lease (ms), ARGV[3] limit
 * Returns 1 (taken) or 0 (full, nothing recorded).
 */
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

/**
 * Extends the leases of slots still held (never re-adds one that is gone).
 *   KEYS[1] sorted set as above; ARGV[1] lease (ms), ARGV[2..n] slot ids
 * Returns how many were extended.
 */
const REFRESH = `${NOW}
local lease = tonumber(ARGV[1])
local extended = 0
for i = 2, #ARGV do
  extended = extended + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + lease, ARGV[i])
end
if extended > 0 then
  redis.call('PEXPIRE', KEYS[1], lease)
end
return extended
`;

interface SlotCommands {
  petrelSlotAcquire(key: string, id: string, leaseMs: number, limit: number): Promise<number>;
  petrelSlotRefresh(key: string, leaseMs: number, ...ids: string[]): Promise<number>;
}

export interface LeasedSlotsOptions {
  readonly redis: Redis;
  /** Part of every slot id, to read them in Redis (the process's name). */
  readonly owner: string;
  /**
   * How long a slot counts without a refresh; refreshed every third of it.
   * Default 15 s: a killed process's slots are phantoms (its connections died
   * with it) that the others cannot use until they lapse. With 60 s, two egress
   * processes killed 19 s apart held every slot of the long chaos run's
   * destinations for 18 s (docs/benchmarks.md, the long chaos run).
   */
  readonly leaseMs?: number;
  /** Called before each Redis command: throws to fail at once (e.g. Redis not ready). */
  readonly ready?: () => void;
}

export interface LeasedSlot {
  /** Gives the slot back; idempotent. */
  release(): Promise<void>;
}

export class LeasedSlots {
  readonly #o: LeasedSlotsOptions;
  readonly #redis: Redis & SlotCommands;
  readonly #leaseMs: number;
  readonly #idPrefix: string;
  #sequence = 0;
  /** Slots this process holds: id → key. */
  readonly #held = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;

  constructor(options: LeasedSlotsOptions) {
    this.#o = options;
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#idPrefix = `${options.owner}:${randomBytes(4).toString('hex')}`;
    const redis = options.redis as Redis & Partial<SlotCommands>;
    if (typeof redis.petrelSlotAcquire !== 'function') {
      redis.defineCommand('petrelSlotAcquire', { numberOfKeys: 1, lua: ACQUIRE });
      redis.defineCommand('petrelSlotRefresh', { numberOfKeys: 1, lua: REFRESH });
    }
    this.#redis = redis as Redis & SlotCommands;
  }

  /** A slot of `key`, or null when `limit` are held already (across processes). */
  async acquire(key: string, limit: number): Promise<LeasedSlot | null> {
    this.#o.ready?.();
    const id = `${this.#idPrefix}:${(++this.#sequence).toString(36)}`;
    if ((await this.#redis.petrelSlotAcquire(key, id, this.#leaseMs, limit)) !== 1) return null;
    this.#held.set(id, key);
    this.#startRefreshing();
    return {
      release: async () => {
        if (!this.#held.delete(id)) return;
        if (this.#held.size === 0) this.#stopRefreshing();
        this.#o.ready?.();
        await this.#redis.zrem(key, id);
      },
    };
  }

  /** Slots this process holds. */
  get held(): number {
    return this.#held.size;
  }

  /** Stops refreshing: the slots still held lapse after one lease, as after a crash. */
  close(): void {
    this.#stopRefreshing();
    this.#held.clear();
  }

  #startRefreshing(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(
      () => void this.#refresh(),
      Math.max(1, Math.floor(this.#leaseMs / 3)),
    );
    this.#timer.unref();
  }

  #stopRefreshing(): void {
    if (this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
  }

  async #refresh(): Promise<void> {
    if (this.#held.size === 0 || this.#redis.status !== 'ready') return;
    const byKey = new Map<string, string[]>();
    for (const [id, key] of this.#held) {
      const ids = byKey.get(key);
      if (ids === undefined) byKey.set(key, [id]);
      else ids.push(id);
    }
    await Promise.all(
      [...byKey].map(([key, ids]) =>
        this.#redis.petrelSlotRefresh(key, this.#leaseMs, ...ids).catch(() => 0),
      ),
    );
  }
}
