// Commits results (routing's plans, egress's outcomes) in groups: the commits
// asked for in one turn of the event loop (up to maxGroup) share one round
// trip to Redis: WATCH on their keys, a guard script that looks at them, and
// one MULTI/EXEC, written together. On this kind of machine a round trip
// costs a process about as much CPU as routing a transaction, so this is
// most of routing's throughput.
//
// The guarantee is the one a single commit gives: each key's commit is
// applied at most once, all of it or none of it.
//   - A key already set (committed before): the guard finds it and writes it
//     again as it is, which fails this connection's own WATCH, so the MULTI
//     behind it does not run. That commit is answered false (routed before)
//     and writes nothing; the group's other commits are tried again without
//     it (a second round trip, only then).
//   - EXEC refused with no key found (another process committed one of them
//     between the WATCH and the EXEC): every commit of the group is tried
//     again, alone, and each finds its own answer.
//   - A command refused when queued (OOM, a wrong script): Redis discards the
//     whole MULTI (EXECABORT); every commit of the group rejects, and BullMQ
//     retries their jobs.
//   - A command that fails while EXEC runs (a script error): the others stand,
//     as in any MULTI; the commit it belonged to rejects. A script Redis does
//     not know (NOSCRIPT, after a restart) would be such a failure: the
//     MULTI's scripts are loaded before it (multi-scripts.ts).
// The guard is sent with EVAL, not EVALSHA: ioredis answers a NOSCRIPT (a
// Redis restarted since) by sending the script again, which would arrive
// after the MULTI it must come before.
//
// Does not: decide what a commit writes (the caller's fill), or retry a
// rejected commit (BullMQ retries the job).

import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'node:net';
import type { ChainableCommander, Redis } from 'ioredis';
import type { ConnectionPool } from './connection-pool.js';
import { execMulti } from './multi-scripts.js';

/**
 * KEYS: the group's keys. Returns the (1-based) positions of those set, each
 * written again unchanged (value and expiry) so that the WATCH on it fails.
 */
const GUARD = `
local found = {}
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if value then
    redis.call('SET', key, value, 'KEEPTTL')
    found[#found + 1] = i
  end
end
return found
`;

/** Queues one commit's commands in the group's MULTI. */
export type Fill = (multi: ChainableCommander) => Promise<void>;

interface Pending {
  readonly key: string;
  readonly fill: Fill;
  resolve(committed: boolean): void;
  reject(err: unknown): void;
}

export interface GroupCommitOptions {
  readonly pool: ConnectionPool;
  /** Seconds a routed key lives when nothing deletes it. */
  readonly ttlSeconds: number;
  /** The most commits in one MULTI; default 64. */
  readonly maxGroup?: number;
}

export class GroupCommit {
  readonly #o: GroupCommitOptions;
  #waiting: Pending[] = [];
  #scheduled = false;

  constructor(options: GroupCommitOptions) {
    this.#o = options;
  }

  /** true: committed now; false: the key was set already (committed before). */
  commit(key: string, fill: Fill): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ key, fill, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#drain());
      }
    });
  }

  #drain(): void {
    this.#scheduled = false;
    const max = this.#o.maxGroup ?? 64;
    // A key at most once per group (its WATCH cannot see its own MULTI): a
    // second commit of one key waits for a later group, and finds it set.
    const group: Pending[] = [];
    const keys = new Set<string>();
    const later: Pending[] = [];
    for (const pending of this.#waiting) {
      if (group.length < max && !keys.has(pending.key)) {
        keys.add(pending.key);
        group.push(pending);
      } else {
        later.push(pending);
      }
    }
    this.#waiting = later;
    void this.#o.pool
      .use((connection) => this.#run(connection, group))
      .catch((err: unknown) => group.forEach((p) => p.reject(err)))
      .finally(() => {
        if (this.#waiting.length > 0 && !this.#scheduled) {
          this.#scheduled = true;
          setImmediate(() => this.#drain());
        }
      });
  }

  async #run(connection: Redis, group: Pending[]): Promise<void> {
    const raced = await this.#attempt(connection, group);
    // Someone else wrote one of the keys: each commit alone, until it knows.
    for (const pending of raced) {
      for (let race = 0; ; race++) {
        if ((await this.#attempt(connection, [pending])).length === 0) break;
        if (race > 2) {
          pending.reject(new Error(`routing commit: ${pending.key} keeps changing`));
          break;
        }
        await sleep(10);
      }
    }
  }

  /** Settles the commits of the group; returns those it could not (EXEC refused: raced). */
  async #attempt(connection: Redis, group: Pending[]): Promise<Pending[]> {
    const multi = connection.multi();
    const base = multi.length;
    const ends: number[] = [];
    for (const pending of group) {
      await pending.fill(multi);
      multi.set(pending.key, 'done', 'EX', this.#o.ttlSeconds);
      ends.push(multi.length - base);
    }
    const keys = group.map((p) => p.key);
    // Nothing is sent before every fill has run: a fill that throws leaves no WATCH behind.
    const stream = (connection as { stream?: Socket }).stream;
    stream?.cork();
    const watched = connection.watch(...keys);
    const guard = connection.eval(GUARD, keys.length, ...keys) as Promise<number[]>;
    // The MULTI's scripts loaded before it, in the same write (multi-scripts.ts:
    // else, after a WATCH refusal, a NOSCRIPT would apply the group by halves).
    const executed = execMulti(connection, multi);
    if (stream !== undefined) process.nextTick(() => stream.uncork());
    const [w, g, x] = await Promise.allSettled([watched, guard, executed]);
    if (w.status === 'rejected') throw w.reason;
    if (g.status === 'rejected') throw g.reason;
    if (x.status === 'rejected') throw x.reason;
    const found = new Set(g.value.map((position) => position - 1));
    const results = x.value;
    if (results === null) {
      if (found.size === 0) return group;
      group.forEach((p, i) => found.has(i) && p.resolve(false));
      const rest = group.filter((_, i) => !found.has(i));
      return rest.length === 0 ? [] : this.#attempt(connection, rest);
    }
    let start = 0;
    group.forEach((pending, i) => {
      const failed = results.slice(start, ends[i]).find(([err]) => err !== null);
      start = ends[i]!;
      if (failed === undefined) pending.resolve(true);
      else pending.reject(failed[0]);
    });
    return [];
  }
}
