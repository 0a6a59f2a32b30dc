// The queue as operators see it: every job of the three queues as an Entry
// (petrel.admin.v1), with the state names of the admin API:
//   transactions  waiting, prioritized, active, delayed  -> routing
//   deliveries    waiting, prioritized                   -> queued
//                 active                                 -> active
//                 delayed (a recipient deferred)         -> deferred
//                 delayed (never tried: busy destination) -> queued
//   held          waiting                                -> held
//   any           failed                                 -> failed
// Jobs are read a page at a time, oldest first within each state. A job that
// moves between states during the reading (a deferred delivery being retried:
// delayed, waiting, active, delayed again) is yielded once, in the first
// state it was read in; one that moves to a state already read is missed by
// this reading (the next shows it).
//
// Does not: match selectors (selector.ts) or change anything (actions.ts).

import type { AdminRecipient, AdminReply, Entry } from '@petrel/proto';
import type { DeliveryJobV1, DeliveryReply, TransactionJobV1 } from '@petrel/queue';
import { QUEUES } from '@petrel/queue';
import type { Job, JobType, Queue } from 'bullmq';

const PAGE = 500;

export interface AdminQueues {
  readonly transactions: Queue;
  readonly deliveries: Queue;
  readonly held: Queue;
}

/** A BullMQ job with the state it was read in, and the entry it shows as. */
export interface QueueEntry {
  readonly entry: Entry;
  readonly queue: Queue;
  readonly job: Job;
  /** The BullMQ state it was read in. */
  readonly bullState: JobType;
  /** The shard (libs/queue shards.ts) whose queue holds it: an index into the caller's list. */
  readonly shard: number;
}

const STATES_BY_QUEUE: Record<string, JobType[]> = {
  [QUEUES.transactions]: ['waiting', 'prioritized', 'active', 'delayed', 'failed'],
  [QUEUES.deliveries]: ['waiting', 'prioritized', 'active', 'delayed', 'failed'],
  [QUEUES.held]: ['waiting', 'prioritized', 'delayed', 'active', 'failed'],
};

/** Every entry of the three queues of every shard, shard by shard, page by page. */
export async function* readEntries(
  shards: readonly { readonly queues: AdminQueues }[],
): AsyncGenerator<QueueEntry> {
  for (const [shard, { queues }] of shards.entries()) yield* readShard(queues, shard);
}

async function* readShard(queues: AdminQueues, shard: number): AsyncGenerator<QueueEntry> {
  for (const queue of [queues.transactions, queues.deliveries, queues.held]) {
    const seen = new Set<string>();
    for (const bullState of STATES_BY_QUEUE[queue.name] ?? []) {
      for (let start = 0; ; start += PAGE) {
        const jobs = (await queue.getJobs(bullState, start, start + PAGE - 1, true)) as Job[];
        for (const job of jobs) {
          if (job === undefined || job === null || job.id === undefined) continue;
          if (seen.has(job.id)) continue;
          seen.add(job.id);
          const entry = toEntry(queue.name, bullState, job);
          if (entry !== null) yield { entry, queue, job, bullState, shard };
        }
        if (jobs.length < PAGE) break;
      }
    }
  }
}

/** One job by id in one queue (of shard `shard`), with its state; null when it is not there. */
export async function readEntry(
  queue: Queue,
  id: string,
  shard: number,
): Promise<QueueEntry | null> {
  const job = (await queue.getJob(id)) as Job | undefined;
  if (job === undefined || job === null) return null;
  const state = await queue.getJobState(id);
  if (state === 'unknown' || state === 'completed') return null;
  const bullState = state as JobType;
  const entry = toEntry(queue.name, bullState, job);
  return entry === null ? null : { entry, queue, job, bullState, shard };
}

export function toEntry(queueName: string, bullState: JobType, job: Job): Entry | null {
  const data = job.data as { v?: number } | undefined;
  if (data?.v !== 1) return null;
  const failedReason = bullState === 'failed' ? String(job.failedReason ?? '') : '';
  if (queueName === QUEUES.transactions) {
    const t = data as TransactionJobV1;
    return {
      id: String(job.id),
      messageId: t.id,
      state: bullState === 'failed' ? 'failed' : 'routing',
      queue: queueName,
      receivedAt: t.receivedAt,
      sender: t.reversePath.raw,
      recipients: t.recipients.map((r) => ({
        address: r.forwardPath.raw,
        state: 'pending',
        lastReply: null,
        original: r.forwardPath.raw,
        expandedFrom: '',
      })),
      domain: '',
      nextHops: [],
      attempts: t.routingAttempt ?? 0,
      nextAttemptAt: bullState === 'delayed' ? delayedUntil(job) : '',
      size: t.size,
      failedReason,
      origin: t.origin ?? 'smtp',
      parameters: parameters(t.parameters),
      transport: '',
    };
  }
  const d = data as DeliveryJobV1;
  const deferredOnce = d.recipients.some((r) => r.state === 'deferred');
  const state =
    bullState === 'failed'
      ? 'failed'
      : queueName === QUEUES.held
        ? 'held'
        : bullState === 'active'
          ? 'active'
          : bullState === 'delayed' && deferredOnce
            ? 'deferred'
            : 'queued';
  return {
    id: String(job.id),
    messageId: d.messageId,
    state,
    queue: queueName,
    receivedAt: d.receivedAt,
    sender: d.reversePath.raw,
    recipients: d.recipients.map((r): AdminRecipient => ({
      address: r.forwardPath,
      state: r.state,
      lastReply: r.lastReply === undefined ? null : toReply(r.lastReply),
      original: r.original,
      expandedFrom: r.expandedFrom ?? '',
    })),
    domain: d.route.domain,
    nextHops: d.route.hops.map((hop) => `${hop.host}:${hop.port}`),
    attempts: d.attempts ?? 0,
    nextAttemptAt: bullState === 'delayed' ? (d.nextAttemptAt ?? delayedUntil(job)) : '',
    size: d.size,
    failedReason,
    origin: d.origin,
    parameters: parameters(d.parameters),
    transport: d.route.transport ?? '',
  };
}

export function toReply(reply: DeliveryReply): AdminReply {
  return {
    code: reply.code,
    enhanced: reply.enhanced ?? '',
    text: reply.text,
    synthetic: reply.synthetic,
    host: reply.host ?? '',
    at: reply.at,
  };
}

function parameters(p: TransactionJobV1['parameters']): string[] {
  const out: string[] = [];
  if (p.size !== undefined) out.push(`SIZE=${p.size}`);
  if (p.body !== undefined) out.push(`BODY=${p.body}`);
  if (p.smtputf8 === true) out.push('SMTPUTF8');
  if (p.auth !== undefined) out.push(`AUTH=${p.auth ?? '<>'}`);
  return out;
}

/** When BullMQ will take a delayed job (its timestamp plus its delay). */
function delayedUntil(job: Job): string {
  return new Date(job.timestamp + (job.delay ?? 0)).toISOString();
}
