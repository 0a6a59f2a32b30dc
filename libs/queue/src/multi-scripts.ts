// The scripts a MULTI carries (BullMQ's addJob and removeJob, the body
// reference script) are made known to Redis before its EXEC runs.
//
// Why: ioredis sends a script as EVAL the first time it writes it on a
// socket, and as EVALSHA after that, whether or not the EVAL ever ran. An
// EVAL queued in a MULTI that did not run (EXEC refused for a WATCH, or
// EXECABORT) leaves the socket believing the script is loaded. When Redis's
// script cache is empty (a restart, a failover), the next MULTI on that
// socket carries EVALSHA, and inside a MULTI an unknown EVALSHA fails alone
// (NOSCRIPT) while the rest of the MULTI runs: a commit half applied. Seen
// in a chaos run: routing's commit added a message's two deliveries and its
// routed key, not the body's reference count; the first delivery done
// deleted the body, the second failed without it, and its recipient was lost.
//
// How: before the MULTI, in the same write, one SCRIPT LOAD of each script
// not yet loaded through this socket (it runs before the MULTI: no extra
// round trip, and once per script per connection: a later MULTI on the
// socket comes after it). A script whose SCRIPT LOAD failed is loaded again
// by the next MULTI; a socket's list is forgotten when an EXEC answers
// NOSCRIPT (a SCRIPT FLUSH).
//
// Does not: run the MULTI, or keep any script loaded across a SCRIPT FLUSH
// that happens while a MULTI is on its way (an operator's act; the EXEC's
// NOSCRIPT result then rejects the commit it belongs to).

import type { Socket } from 'node:net';
import type { ChainableCommander, Redis } from 'ioredis';

/** Per socket: the scripts a SCRIPT LOAD was sent for through it (and did not fail). */
const loaded = new WeakMap<object, Set<string>>();

interface QueuedCommand {
  readonly name: string;
  readonly args: readonly unknown[];
}

/** ioredis's Pipeline (a MULTI is one): its queued commands and its connection's scripts. */
interface PipelineInternals {
  readonly _queue?: readonly QueuedCommand[];
  readonly _shaToScript?: Readonly<Record<string, { readonly lua: string }>>;
}

/**
 * multi.exec(), behind a SCRIPT LOAD of each script the MULTI carries that
 * this socket has not loaded yet, both written in this turn of the event
 * loop (the caller's WATCH, if any, may go before). Resolves with EXEC's
 * results as ioredis gives them.
 */
export async function execMulti(
  connection: Redis,
  multi: ChainableCommander,
): Promise<[Error | null, unknown][] | null> {
  const { _queue: queue, _shaToScript: scripts } = multi as unknown as PipelineInternals;
  if (queue === undefined || scripts === undefined)
    throw new Error('execMulti: this ioredis does not expose a MULTI’s commands');
  const socket = (connection as { stream?: Socket }).stream;
  if (socket === undefined) return multi.exec(); // not connected: it fails anyway
  const known = loaded.get(socket) ?? new Set<string>();
  loaded.set(socket, known);
  for (const command of queue) {
    if (command.name !== 'evalsha') continue;
    const sha = String(command.args[0]);
    const script = scripts[sha];
    // Not a script of this connection: nothing to load.
    if (known.has(sha) || script === undefined) continue;
    // Counted as loaded from now: a later MULTI on this socket comes after it.
    known.add(sha);
    connection.script('LOAD', script.lua).catch(() => known.delete(sha));
  }
  const results = await multi.exec();
  // A NOSCRIPT among the results: the cache was flushed; load again next time.
  if (results?.some(([err]) => err !== null && /^NOSCRIPT/.test(err.message)))
    loaded.delete(socket);
  return results;
}
