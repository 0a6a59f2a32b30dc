// Deletes orphan bodies: a body whose transaction was never queued, because
// its ingress (or Redis) died between the body's SET and the job's add (the
// crash window transaction-store.ts describes; its client got no 250 and sent
// the message again). Such a body is referenced by nothing and would stay for
// ever.
//
// A body is an orphan when all of these hold, checked and acted on in one Lua
// script (its keys share the prefix's hash tag, so one slot):
//   - it is older than minAgeMs, read from its message id (a ULID: its first
//     10 characters are the time it was made);
//   - no `transactions` job has its id (waiting, delayed, active or failed);
//   - it has no reference count (<prefix>:refs:<id>: routing made none, or the
//     last reference deleted both already).
// A body whose transaction is being routed right now has its job; one whose
// deliveries are pending has its references. Nothing else writes bodies.
//
// Does not: run by itself (routing calls sweep() on a timer), or touch a DSN's
// body differently (a DSN is a transaction like any other).

import type { Redis } from 'ioredis';
import { decodeTime } from 'ulid';

/** KEYS[1] body, KEYS[2] the transactions job's hash, KEYS[3] refs. 1: deleted. */
const SWEEP = `
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
return redis.call('DEL', KEYS[1])
`;

interface WithSweep {
  petrelSweepBody(body: string, job: string, refs: string): Promise<number>;
}

export interface SweepOptions {
  readonly redis: Redis;
  readonly prefix: string;
  /** Bodies younger than this are never touched. */
  readonly minAgeMs: number;
  readonly now?: () => number;
}

/** Scans every body once; returns how many orphans it deleted. */
export async function sweepOrphanBodies(options: SweepOptions): Promise<number> {
  const { redis, prefix } = options;
  if (!('petrelSweepBody' in redis)) {
    redis.defineCommand('petrelSweepBody', { numberOfKeys: 3, lua: SWEEP });
  }
  const scripts = redis as unknown as WithSweep;
  const cutoff = (options.now?.() ?? Date.now()) - options.minAgeMs;
  const match = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}:body:*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const id = key.slice(`${prefix}:body:`.length);
      let made: number;
      try {
        made = decodeTime(id);
      } catch {
        continue; // not a message id: not ours to judge
      }
      if (made > cutoff) continue;
      deleted += await scripts.petrelSweepBody(
        key,
        `${prefix}:transactions:${id}`,
        `${prefix}:refs:${id}`,
      );
    }
  } while (cursor !== '0');
  return deleted;
}
