// What every Petrel worker (routing on `transactions`, egress on `deliveries`)
// asks of BullMQ, so that the queue machinery never drops a job by itself:
// attempts and maxStalledCount are as good as unlimited (BullMQ's default
// maxStalledCount of 1 moves a job whose worker died twice to `failed`, which
// for a relay is a silent loss). A job whose worker died is taken again after
// its lock expires: stalled checks run every lock duration. Only the service
// fails a job, on purpose (UnrecoverableError), and it is kept.

import type { WorkerOptions } from 'bullmq';
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
    connection: createWorkerRedis(options.url, { name: options.name }),
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.lockDurationMs,
    maxStalledCount: UNLIMITED,
    autorun: false,
  };
}
