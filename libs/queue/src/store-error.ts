// Why a message could not be stored. Whatever the reason, ingress answers
// 4yz (451 4.3.0), never 250: the client keeps the message and tries again.
//   unavailable:        Redis unreachable, too slow (command timeout), loading,
//                       out of memory, read-only, or failing to write its AOF.
//   durability-timeout: the writes were made but not acknowledged durable
//                       (too few WAIT/WAITAOF acknowledgements in time).
//   error:              anything else (a bug, an unexpected reply).

export type StoreFailure = 'unavailable' | 'durability-timeout' | 'error';

export class StoreError extends Error {
  readonly reason: StoreFailure;

  constructor(reason: StoreFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.reason = reason;
  }
}

/** Redis error replies that mean "not now" rather than "wrong". */
const TEMPORARY_REPLY =
  /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|MISCONF|CLUSTERDOWN|TRYAGAIN|NOREPLICAS)\b/;

/** Client-side failures of the connection: refused, closed, not writable, timed out. */
const CONNECTION_FAILURE =
  /Command timed out|Stream isn't writeable|Connection is closed|Reached the max retries|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|socket/i;

/** True when Redis itself answered with an error reply (the command ran, or was refused, on the server). */
export function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/** Maps an error from the Redis client (or BullMQ) to a StoreError. */
export function toStoreError(err: unknown, doing: string): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  let reason: StoreFailure;
  if (isReplyError(err)) {
    // A MULTI refused as a whole (EXECABORT) is judged by the first refusal inside it.
    const first = (err as { previousErrors?: Error[] }).previousErrors?.[0]?.message ?? message;
    reason = TEMPORARY_REPLY.test(first) ? 'unavailable' : 'error';
  } else if (
    err instanceof Error &&
    (err.name === 'MaxRetriesPerRequestError' || CONNECTION_FAILURE.test(message))
  )
    reason = 'unavailable';
  else reason = 'error';
  return new StoreError(reason, `${doing}: ${message}`, { cause: err });
}
