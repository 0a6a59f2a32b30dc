// Connections to next hops, kept open between deliveries (RFC 5321 §4.1.1.5:
// RSET before each later transaction, which libs/smtp's client does) and
// limited per destination across every egress process (libs/queue
// leased-slots.ts). A connection holds its destination slot from its
// opening to its closing, idle time included.
//
//   acquire(): an idle connection to the same address, port, TLS policy and
//              credentials if one is still usable; else a slot and a new one;
//              with no free slot, the next of this process's connections to
//              the same next hop to be released, or a slot freed by any
//              process, for up to waitMs; else 'busy'. Redis is asked again
//              every 50 ms by one waiter of the process at a time, however
//              many wait (with three processes of 32 deliveries each and 20
//              slots, every waiter asking was some 1,500 Lua calls a second
//              for nothing).
//   release(): to a waiting acquire(), or back to idle (closed after idleMs,
//              or after maxMessages transactions), or closed when it is no
//              longer usable.
//
// Does not: decide what a failed connection means for the recipients.

import type { LeasedSlot, LeasedSlots } from '@petrel/queue';
import type { NextHopConnection, NextHopOptions, OpenResult } from './next-hop/index.js';

/** How often the waiters of one process ask Redis for a slot of one destination. */
const ASK_EVERY_MS = 50;

export interface Lease {
  readonly connection: NextHopConnection;
  /** True when the connection was opened for this lease. */
  readonly fresh: boolean;
}

export type Acquired =
  | { readonly kind: 'connection'; readonly lease: Lease }
  | { readonly kind: 'failed'; readonly failure: Extract<OpenResult, { ok: false }> }
  | { readonly kind: 'busy' };

export interface ConnectionCacheOptions {
  open(options: NextHopOptions): Promise<OpenResult>;
  /** Connections per destination across processes (leases in Redis); null: no limit. */
  readonly slots: {
    readonly leases: LeasedSlots;
    readonly prefix: string;
    readonly limit: number;
  } | null;
  readonly idleMs: number;
  readonly maxMessages: number;
  /** How long acquire() waits for one of this process's connections when no slot is free; default 5 s. */
  readonly waitMs?: number;
}

interface Entry {
  readonly key: string;
  readonly connection: NextHopConnection;
  readonly slot: LeasedSlot | null;
  uses: number;
  idle: NodeJS.Timeout | null;
}

export class ConnectionCache {
  readonly #o: ConnectionCacheOptions;
  readonly #idle = new Map<string, Entry[]>();
  readonly #entries = new Map<NextHopConnection, Entry>();
  /** Key → acquire() calls waiting for a connection to be released. */
  readonly #waiting = new Map<string, ((entry: Entry | null) => void)[]>();
  /** Slot key → when a waiter of this process last asked Redis for one of its slots. */
  readonly #asked = new Map<string, number>();
  #closed = false;

  constructor(options: ConnectionCacheOptions) {
    this.#o = options;
  }

  async acquire(options: NextHopOptions): Promise<Acquired> {
    const { address, port } = options.target;
    const key = `${address}:${port}|${options.tls}|${options.credentials?.username ?? ''}`;
    const idle = this.#idle.get(key);
    while (idle !== undefined && idle.length > 0) {
      const entry = idle.pop()!;
      if (entry.idle !== null) clearTimeout(entry.idle);
      entry.idle = null;
      if (entry.connection.reusable)
        return { kind: 'connection', lease: { connection: entry.connection, fresh: false } };
      await this.#drop(entry);
    }
    let slot: LeasedSlot | null = null;
    if (this.#o.slots !== null) {
      const deadline = Date.now() + (this.#o.waitMs ?? 5000);
      const { leases, prefix, limit } = this.#o.slots;
      const slotKey = `${prefix}:slots:${address}:${port}`;
      for (let first = true; ; first = false) {
        const now = Date.now();
        if (first || now - (this.#asked.get(slotKey) ?? 0) >= ASK_EVERY_MS) {
          if (!first) this.#asked.set(slotKey, now);
          slot = await leases.acquire(slotKey, limit);
          if (slot !== null) {
            if (!first) this.#asked.delete(slotKey);
            break;
          }
        }
        // A connection of this process handed over, or a slot freed anywhere.
        const handed = await this.#wait(key, Math.min(ASK_EVERY_MS, deadline - Date.now()));
        if (handed !== null) {
          return { kind: 'connection', lease: { connection: handed.connection, fresh: false } };
        }
        if (Date.now() >= deadline) return { kind: 'busy' };
      }
    }
    const opened = await this.#o.open(options);
    if (!opened.ok) {
      await slot?.release().catch(() => undefined);
      return { kind: 'failed', failure: opened };
    }
    const entry: Entry = { key, connection: opened.connection, slot, uses: 0, idle: null };
    this.#entries.set(opened.connection, entry);
    return { kind: 'connection', lease: { connection: opened.connection, fresh: true } };
  }

  /** Hands a connection back after one transaction. */
  async release(lease: Lease): Promise<void> {
    const entry = this.#entries.get(lease.connection);
    if (entry === undefined) return;
    entry.uses++;
    if (this.#closed || !entry.connection.reusable || entry.uses >= this.#o.maxMessages) {
      await this.#drop(entry);
      return;
    }
    const waiter = this.#waiting.get(entry.key)?.shift();
    if (waiter !== undefined) {
      waiter(entry);
      return;
    }
    entry.idle = setTimeout(() => {
      const list = this.#idle.get(entry.key);
      const at = list?.indexOf(entry) ?? -1;
      if (at >= 0) list!.splice(at, 1);
      void this.#drop(entry);
    }, this.#o.idleMs);
    entry.idle.unref();
    let list = this.#idle.get(entry.key);
    if (list === undefined) this.#idle.set(entry.key, (list = []));
    list.push(entry);
  }

  /** Idle connections now. */
  get idle(): number {
    let n = 0;
    for (const list of this.#idle.values()) n += list.length;
    return n;
  }

  /** QUITs every idle connection; connections in use close when released. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const list of this.#waiting.values()) for (const waiter of [...list]) waiter(null);
    const idle = [...this.#idle.values()].flat();
    this.#idle.clear();
    await Promise.all(idle.map((entry) => this.#drop(entry)));
  }

  #wait(key: string, ms: number): Promise<Entry | null> {
    return new Promise((resolve) => {
      let list = this.#waiting.get(key);
      if (list === undefined) this.#waiting.set(key, (list = []));
      const done = (entry: Entry | null): void => {
        clearTimeout(timer);
        const at = list.indexOf(done);
        if (at >= 0) list.splice(at, 1);
        resolve(entry);
      };
      const timer = setTimeout(() => done(null), Math.max(1, ms));
      timer.unref();
      list.push(done);
    });
  }

  async #drop(entry: Entry): Promise<void> {
    if (entry.idle !== null) clearTimeout(entry.idle);
    this.#entries.delete(entry.connection);
    await entry.connection.close().catch(() => undefined);
    await entry.slot?.release().catch(() => undefined);
  }
}
