// Commits results (routing's plans, egress's outcomes) in groups: the commits asked for in one turn of the
// event loop (up to maxGroup) share one round trip to look at their routed
// keys (WATCH + MGET) and one MULTI/EXEC, instead of two round trips each.
// On this kind of machine a round trip costs the routing process about as
// much CPU as routing a transaction, so this is most of routing's throughput.
//
// The guarantee is the one a single commit gives: each key's commit is
// applied at most once, all of it or none of it.
//   - A key already set: that commit is answered false (routed before) and
//     writes nothing.
//   - EXEC refused because a watched key changed (another process committed
//     one of them meanwhile): every commit of the group is tried again, alone,
//     and each finds its own answer.
//   - A command refused when queued (OOM, a wrong script): Redis discards the
//     whole MULTI (EXECABORT); every commit of the group rejects, and BullMQ
//     retries their jobs.
//   - A command that fails while EXEC runs (a script error): the others stand,
//     as in any MULTI; the commit it belonged to rejects.
//
// Does not: decide what a commit writes (the caller's fill), or retry a
// rejected commit (BullMQ retries the job).

import { setTimeout as sleep } from 'node:timers/promises';
import type { ChainableCommander, Redis } from 'ioredis';
import type { ConnectionPool } from './connection-pool.js';

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
    const keys = group.map((p) => p.key);
    const [watched, routed] = (await connection
      .pipeline()
      .watch(...keys)
      .mget(...keys)
      .exec())!;
    if (watched![0] !== null) throw watched![0];
    if (routed![0] !== null) throw routed![0];
    const values = routed![1] as (string | null)[];
    const fresh = group.filter((_, i) => values[i] === null);
    group.forEach((p, i) => values[i] !== null && p.resolve(false));
    if (fresh.length === 0) {
      await connection.unwatch();
      return [];
    }
    const multi = connection.multi();
    const ends: number[] = [];
    for (const pending of fresh) {
      await pending.fill(multi);
      multi.set(pending.key, 'done', 'EX', this.#o.ttlSeconds);
      ends.push(multi.length);
    }
    const results = await multi.exec();
    if (results === null) return fresh;
    let start = 0;
    fresh.forEach((pending, i) => {
      const failed = results.slice(start, ends[i]).find(([err]) => err !== null);
      start = ends[i]!;
      if (failed === undefined) pending.resolve(true);
      else pending.reject(failed[0]);
    });
    return [];
  }
}
