// What every Petrel worker (routing on `transactions`, egress on `deliveries`)
// asks of BullMQ, so that the queue machinery never drops a job by itself:
// attempts and maxStalledCount are as good as unlimited (BullMQ's default
// maxStalledCount of 1 moves a job whose worker died twice to `failed`, which
// for a relay is a silent loss). A job whose worker died is taken again after
// its lock expires: stalled checks run every lock duration. Only the service
// fails a job, on purpose (UnrecoverableError), and it is kept.

import type { Worker, WorkerOptions } from 'bullmq';
import { createWorkerRedis } from './redis-client.js';

/** BullMQ compares attempts and stalled counts in Lua: effectively never reached. */
export const UNLIMITED = 2_147_483_647;

export function workerOptions(options: {
  readonly url: string;
  /** CLIENT SETNAME of the worker's connection. */
  readonly name: string;
  readonly prefix: string;
  readonly concurrency: number;
  readonly lockDurationMs: number;
}): WorkerOptions {
  return {
    connection: createWorkerRedis(options.url, { name: options.name, prefix: options.prefix }),
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.lockDurationMs,
    maxStalledCount: UNLIMITED,
    autorun: false,
  };
}

/**
 * worker.close() (the jobs in hand finish, no new one is taken), bounded:
 * 'timeout' when it has not resolved within `timeoutMs`. BullMQ's close()
 * can wait for ever for a connection that is reconnecting (a SIGTERM just
 * after a Redis restart hung egress for an hour; taskforcesh/bullmq#4656);
 * after the timeout the worker is closed with force and the caller goes on
 * stopping. Jobs still in hand are then taken again by another worker once
 * their lock expires.
 */
export async function closeWorker(
  worker: Worker,
  timeoutMs: number,
): Promise<'closed' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const closing = worker.close().then(() => 'closed' as const);
  const late = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([closing, late]);
  clearTimeout(timer);
  if (outcome === 'timeout') void worker.close(true).catch(() => undefined);
  return outcome;
}
