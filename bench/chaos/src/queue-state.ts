// What is left in the relay's queues (BullMQ, under the cluster's prefix):
// jobs not yet done in transactions, deliveries and held, and jobs in the
// `failed` state (a chaos run must leave none). waitForDrain() polls until
// nothing is left to do, or the time is up.
//
// Does not: look inside jobs, or count delivery attempts.

import { QUEUES } from '@petrel/queue';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

export interface QueueState {
  /** Jobs waiting, active, delayed, prioritized or waiting for children, over the three queues. */
  readonly pending: number;
  readonly failed: number;
  readonly byQueue: Readonly<Record<string, Record<string, number>>>;
}

const PENDING = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

export async function queueState(url: string, prefix: string): Promise<QueueState> {
  const connection = new Redis(url, { maxRetriesPerRequest: 1 });
  connection.on('error', () => undefined);
  const byQueue: Record<string, Record<string, number>> = {};
  let pending = 0;
  let failed = 0;
  try {
    for (const name of Object.values(QUEUES)) {
      const queue = new Queue(name, { connection, prefix });
      queue.on('error', () => undefined); // Redis restarting: the caller sees the rejection
      const counts = await queue.getJobCounts(...PENDING, 'failed', 'completed');
      await queue.close();
      byQueue[name] = counts;
      pending += PENDING.reduce((n, state) => n + (counts[state] ?? 0), 0);
      failed += counts['failed'] ?? 0;
    }
  } finally {
    connection.disconnect();
  }
  return { pending, failed, byQueue };
}

/** Polls until nothing is pending; the last state either way. */
export async function waitForDrain(
  url: string,
  prefix: string,
  timeoutMs: number,
  settled: () => boolean = () => true,
): Promise<QueueState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await queueState(url, prefix).catch(() => undefined);
    if (state !== undefined && state.pending === 0 && settled()) return state;
    if (Date.now() > deadline) return state ?? { pending: -1, failed: -1, byQueue: {} };
    await new Promise((r) => setTimeout(r, 500));
  }
}
