// Per-client-address limits that hold across every ingress replica, because
// their state lives in Redis (SAFETY.md "Limits and abuse"; ingress answers
// 421 4.7.0 when one is exceeded):
//   - concurrent connections (libs/queue leased-slots.ts): a sorted set per
//     address of connection ids, each scored by its lease expiry. The replica
//     that holds a connection refreshes the lease while the connection is
//     open; a replica that crashes stops refreshing, so its connections stop
//     counting after one lease (60 s by default) instead of blocking the
//     client forever;
//   - messages per minute and authentication failures per hour: a sliding
//     window estimated from two fixed windows (the previous window's count
//     weighted by how much of it is still inside the sliding window, plus
//     the current one), O(1) memory per address.
// Time is Redis' clock (TIME inside the scripts), so replicas with skewed
// clocks agree. Each check is one Lua script, atomic, with one key.
//
// Failure: when Redis is unavailable every check rejects at once (client not
// ready) or within the client's command timeout (createRedis' fail-fast
// client); the caller turns that into a 4yz. Refreshes that fail are
// ignored: at worst a lease lapses and the client gets one more connection.
// A limit of 0 disables that limit, and then Redis is not asked at all
// (Postfix's convention for its anvil limits).
//
// Does not: group IPv6 clients by prefix (each address is its own client;
// an IPv4-mapped IPv6 address counts as its IPv4 address), or decide the
// reply; it answers allowed or not.

import { LeasedSlots } from '@petrel/queue';
import type { Redis } from 'ioredis';

export interface ClientLimiterOptions {
  readonly redis: Redis;
  /** The queue prefix (hash-tagged); limit keys live under `<prefix>:limits:`. */
  readonly prefix: string;
  /** Concurrent sessions per address across replicas; 0: no limit. */
  readonly connectionsPerClient: number;
  /** 0: no limit. */
  readonly messagesPerClientPerMinute: number;
  /** Failed AUTH attempts allowed per address per hour; after that many, AUTH is blocked. 0: no limit. */
  readonly authFailuresPerClientPerHour: number;
  /** This replica's name: part of its connection ids, to read them in Redis. */
  readonly instance: string;
  /** How long a connection counts without a refresh; refreshed every third of it. Default 60 s. */
  readonly connectionLeaseMs?: number;
  /** Default 60 s (the "per minute"). */
  readonly messageWindowMs?: number;
  /** Default 1 h (the "per hour"). */
  readonly authWindowMs?: number;
}

export interface ConnectionSlot {
  readonly allowed: boolean;
  /** Gives the slot back; idempotent; a no-op when not allowed. */
  release(): Promise<void>;
}

/** The milliseconds of Redis' clock, as the first lines of each script. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * A sliding-window counter.
 *   KEYS[1] hash: field = window number (now / window), value = events in it
 *   ARGV[1] window (ms), ARGV[2] limit,
 *   ARGV[3] 'take': count the event only if it fits, 'add': count it anyway,
 *           'peek': count nothing
 * Returns 1 when within the limit: for 'take', the event fitted and was
 * counted; for 'add' and 'peek', another event would still fit. Else 0.
 */
const SLIDING_WINDOW = `${NOW}
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local mode = ARGV[3]
local current = math.floor(now / window)
local inside = 1 - (now % window) / window
local count = tonumber(redis.call('HGET', KEYS[1], current) or '0')
local previous = tonumber(redis.call('HGET', KEYS[1], current - 1) or '0')
local estimate = previous * inside + count
if mode == 'peek' then
  return estimate < limit and 1 or 0
end
if mode == 'take' and estimate + 1 > limit then
  return 0
end
redis.call('HINCRBY', KEYS[1], current, 1)
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if tonumber(field) < current - 1 then
    redis.call('HDEL', KEYS[1], field)
  end
end
redis.call('PEXPIRE', KEYS[1], window * 2)
if mode == 'take' then
  return 1
end
return estimate + 1 < limit and 1 or 0
`;

interface LimitCommands {
  petrelSlidingWindow(
    key: string,
    windowMs: number,
    limit: number,
    mode: 'take' | 'add' | 'peek',
  ): Promise<number>;
}

const SCRIPTS: Record<keyof LimitCommands, string> = {
  petrelSlidingWindow: SLIDING_WINDOW,
};

const ALLOWED_WITHOUT_LIMIT: ConnectionSlot = Object.freeze({
  allowed: true,
  release: async () => undefined,
});
const REFUSED: ConnectionSlot = Object.freeze({ allowed: false, release: async () => undefined });

/** The address a limit counts: an IPv4-mapped IPv6 address is its IPv4 address; IPv6 lower-cased. */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped !== null ? mapped[1]! : address.toLowerCase();
}

export class ClientLimiter {
  readonly #options: ClientLimiterOptions;
  readonly #redis: Redis & LimitCommands;
  /** Connection leases (libs/queue leased-slots.ts). */
  readonly #connections: LeasedSlots;

  constructor(options: ClientLimiterOptions) {
    for (const name of [
      'connectionsPerClient',
      'messagesPerClientPerMinute',
      'authFailuresPerClientPerHour',
    ] as const) {
      if (!(Number.isInteger(options[name]) && options[name] >= 0)) {
        throw new Error(
          `ClientLimiter: ${name} must be a whole number, at least 0 (got ${options[name]})`,
        );
      }
    }
    this.#options = options;
    this.#connections = new LeasedSlots({
      redis: options.redis,
      owner: options.instance,
      ...(options.connectionLeaseMs === undefined ? {} : { leaseMs: options.connectionLeaseMs }),
      ready: () => this.#ready(),
    });
    const redis = options.redis as Redis & Partial<LimitCommands>;
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      if (typeof redis[name as keyof LimitCommands] !== 'function')
        redis.defineCommand(name, { numberOfKeys: 1, lua });
    }
    this.#redis = redis as Redis & LimitCommands;
  }

  /** Takes a connection slot for the address; allowed false when it already has the limit open across replicas. */
  async openConnection(address: string): Promise<ConnectionSlot> {
    const limit = this.#options.connectionsPerClient;
    if (limit === 0) return ALLOWED_WITHOUT_LIMIT;
    const slot = await this.#connections.acquire(this.#key('conn', address), limit);
    return slot === null ? REFUSED : { allowed: true, release: () => slot.release() };
  }

  /** Counts a message from the address; false (not counted) when it is over the per-minute rate. */
  async countMessage(address: string): Promise<boolean> {
    const { messagesPerClientPerMinute: limit, messageWindowMs = 60_000 } = this.#options;
    return (
      limit === 0 || (await this.#window('msg', address, messageWindowMs, limit, 'take')) === 1
    );
  }

  /** Records a failed AUTH; false when the address has now used up its failures (it is blocked). */
  async authFailure(address: string): Promise<boolean> {
    const { authFailuresPerClientPerHour: limit, authWindowMs = 3_600_000 } = this.#options;
    return (
      limit === 0 || (await this.#window('authfail', address, authWindowMs, limit, 'add')) === 1
    );
  }

  /** True while the address may not try AUTH (too many failures in the last hour). */
  async authBlocked(address: string): Promise<boolean> {
    const { authFailuresPerClientPerHour: limit, authWindowMs = 3_600_000 } = this.#options;
    return (
      limit !== 0 && (await this.#window('authfail', address, authWindowMs, limit, 'peek')) === 0
    );
  }

  /** One sliding-window operation on the address's counter: 1 when under the limit. */
  async #window(
    kind: string,
    address: string,
    windowMs: number,
    limit: number,
    op: 'take' | 'add' | 'peek',
  ): Promise<number> {
    this.#ready();
    return this.#redis.petrelSlidingWindow(this.#key(kind, address), windowMs, limit, op);
  }

  /** Stops refreshing (open slots then lapse after one lease, as after a crash). Does not close Redis. */
  close(): void {
    this.#connections.close();
  }

  #key(kind: string, address: string): string {
    return `${this.#options.prefix}:limits:${kind}:${clientKey(address)}`;
  }

  /** Rejects at once rather than waiting for a connection that is not there. */
  #ready(): void {
    const status = this.#redis.status;
    if (status !== 'ready')
      throw new Error(`client limits: Redis unavailable (connection ${status})`);
  }
}
