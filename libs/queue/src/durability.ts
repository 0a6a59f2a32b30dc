// The last step before a 250: making the writes just made on this connection
// durable as `redis.durability` promises (see redis-facts.ts for the promise
// per setting).
//   none                          nothing to wait for
//   fsync, Redis < 7.2            nothing to wait for: init() checked that
//                                 appendfsync is always, so the replies to the
//                                 writes came after the fsync
//   fsync, Redis 7.2+             WAITAOF 1 0 <timeout>
//   replicas n, Redis < 7.2       WAIT n <timeout> (fsync as above)
//   replicas n, Redis 7.2+        WAITAOF 1 n <timeout>
// WAIT and WAITAOF cover every write made before them on the same connection,
// which is why the store writes body and job and waits on one connection.
// Fewer acknowledgements than needed is a StoreError 'durability-timeout'.
//
// The client's commandTimeout would cut a WAIT short that Redis is still
// allowed to run; so this command gets its own client-side timeout: the
// durability timeout plus the client's command timeout.
//
// Does not: retry. A timeout is a 4yz for this message; the next one waits again.

import { Command, type Redis } from 'ioredis';
import type { Durability, RedisFacts } from './redis-facts.js';
import { StoreError } from './store-error.js';

export type DurabilityStep =
  | { readonly command: 'WAIT'; readonly replicas: number }
  | { readonly command: 'WAITAOF'; readonly local: 1; readonly replicas: number };

export function durabilityStep(
  facts: RedisFacts,
  durability: Durability,
  replicas: number,
): DurabilityStep | null {
  switch (durability) {
    case 'none':
      return null;
    case 'fsync':
      return facts.waitaof ? { command: 'WAITAOF', local: 1, replicas: 0 } : null;
    case 'replicas':
      return facts.waitaof
        ? { command: 'WAITAOF', local: 1, replicas }
        : { command: 'WAIT', replicas };
  }
}

export async function awaitDurability(
  redis: Redis,
  step: DurabilityStep,
  timeoutMs: number,
): Promise<void> {
  const args =
    step.command === 'WAIT' ? [step.replicas, timeoutMs] : [step.local, step.replicas, timeoutMs];
  const command = new Command(step.command.toLowerCase(), args);
  // Set before sendCommand, which then leaves it alone (it only arms the client's default when none is armed).
  command.setTimeout(timeoutMs + (redis.options.commandTimeout ?? 1_000));
  redis.sendCommand(command);
  const reply: unknown = await command.promise;

  if (step.command === 'WAIT') {
    const acknowledged = Number(reply);
    if (!(acknowledged >= step.replicas)) {
      throw new StoreError(
        'durability-timeout',
        `WAIT: ${acknowledged} of ${step.replicas} replica${step.replicas === 1 ? '' : 's'} acknowledged within ${timeoutMs} ms`,
      );
    }
    return;
  }
  const [local, replicas] = Array.isArray(reply) ? reply.map(Number) : [Number.NaN, Number.NaN];
  if (!((local ?? 0) >= step.local && (replicas ?? 0) >= step.replicas)) {
    throw new StoreError(
      'durability-timeout',
      `WAITAOF: local ${local}, replicas ${replicas} of ${step.replicas} fsynced within ${timeoutMs} ms` +
        (step.replicas > 0 ? ' (replicas need appendonly yes)' : ''),
    );
  }
}
