// What Redis still knows about a run's failures, read once the queues have
// drained, so that a run with a loss or a failed job explains itself instead
// of needing a replay (a replay with the same seed keeps the faults' moments,
// not the processes' timing, and may not fail again):
//   - every job in `failed`, in each queue: its id, its message, why it failed
//     (BullMQ's failedReason) and how many tries it had;
//   - for each message lost, under each queue id it was given a 250 with: its
//     events (received, routed, attempt, delivered, ...: message-events.ts),
//     whether its body still exists, and its reference count.
//
// Does not: judge anything, or read jobs that completed (removed on
// completion: their trace is the events).

import { bodyKey, QUEUES, readEvents, refsKey, type MessageEvent } from '@petrel/queue';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

export interface FailedJob {
  readonly queue: string;
  readonly id: string;
  readonly messageId: string | null;
  readonly failedReason: string;
  readonly attemptsMade: number;
}

export interface StoredMessage {
  readonly id: string;
  readonly body: boolean;
  readonly refs: string | null;
  readonly events: readonly MessageEvent[];
}

export interface PostMortem {
  readonly failedJobs: readonly FailedJob[];
  readonly lost: readonly { readonly seq: number; readonly stored: readonly StoredMessage[] }[];
}

/** At most this many failed jobs are read per queue. */
const FAILED_READ = 50;

export async function postMortem(
  url: string,
  prefix: string,
  lost: readonly { readonly seq: number; readonly accepted: readonly string[] }[],
): Promise<PostMortem> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    const failedJobs: FailedJob[] = [];
    for (const name of Object.values(QUEUES)) {
      const queue = new Queue(name, { connection: redis, prefix });
      queue.on('error', () => undefined);
      try {
        for (const job of await queue.getFailed(0, FAILED_READ - 1)) {
          const data = job.data as { messageId?: unknown; id?: unknown } | undefined;
          const messageId = data?.messageId ?? data?.id;
          failedJobs.push({
            queue: name,
            id: String(job.id),
            messageId: typeof messageId === 'string' ? messageId : null,
            failedReason: job.failedReason,
            attemptsMade: job.attemptsMade,
          });
        }
      } finally {
        await queue.close();
      }
    }
    const stored = async (id: string): Promise<StoredMessage> => {
      const [events, body, refs] = await Promise.all([
        readEvents(redis, prefix, id),
        redis.exists(bodyKey(prefix, id)),
        redis.get(refsKey(prefix, id)),
      ]);
      return { id, body: body > 0, refs, events };
    };
    const messages = [];
    for (const m of lost)
      messages.push({ seq: m.seq, stored: await Promise.all(m.accepted.map(stored)) });
    return { failedJobs, lost: messages };
  } finally {
    redis.disconnect();
  }
}
