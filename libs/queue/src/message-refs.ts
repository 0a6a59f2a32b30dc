// The body's reference count (delivery-job.ts: <prefix>:refs:<id>), changed
// by one Lua script so that "the last job is final" and "delete the body" are
// one atomic step: no job can be left without its body, and no body without
// a job once every recipient is final. Routing adds its deliveries (and
// removes the transaction's own reference when it was a routing retry);
// egress removes one when a delivery's recipients are all final.
//
// The script runs on its own or inside a MULTI (routing's commit), so it is
// defined on the connection with defineCommand.
//
// KEYS[1] refs key, KEYS[2] body key; ARGV[1] the change.
// Returns the count after the change; at 0 or below both keys are gone.

import type { ChainableCommander, Redis } from 'ioredis';

const ADJUST_REFS = `
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n <= 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
end
return n
`;

interface WithAdjustRefs {
  petrelAdjustRefs(refs: string, body: string, change: number): Promise<number>;
}

/** Defines the script on a connection (idempotent). */
export function defineAdjustRefs(redis: Redis): void {
  if ('petrelAdjustRefs' in redis) return;
  redis.defineCommand('petrelAdjustRefs', { numberOfKeys: 2, lua: ADJUST_REFS });
}

/** Runs the change now. */
export async function adjustRefs(
  redis: Redis,
  keys: { refs: string; body: string },
  change: number,
): Promise<number> {
  defineAdjustRefs(redis);
  return (redis as unknown as WithAdjustRefs).petrelAdjustRefs(keys.refs, keys.body, change);
}

/** Queues the change in a MULTI made from a connection defineAdjustRefs() was given. */
export function queueAdjustRefs(
  multi: ChainableCommander,
  keys: { refs: string; body: string },
  change: number,
): void {
  (multi as unknown as WithAdjustRefs).petrelAdjustRefs(keys.refs, keys.body, change);
}
