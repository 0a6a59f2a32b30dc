// What egress does with one `deliveries` job: an attempt (delivery-attempt.ts)
// for its recipients still pending or deferred, then ONE commit (a MULTI
// guarded by WATCH on <prefix>:attempt:<delivery>:<n>, shared with the
// commits of the same moment: libs/queue group-commit.ts) of:
//   - the job's data with each recipient's state and last reply (the BullMQ
//     job hash's `data` field, as Job#updateData writes it);
//   - the DSN for the recipients that bounced now (5yz, or still deferred at
//     the end of the queue lifetime: "delivery time expired"), unless the
//     message is itself a bounce or its reverse-path is null;
//   - when no recipient is left deferred, the body's reference taken away
//     (the body goes with the last one).
// Then, with recipients deferred, the job is delayed until the next attempt
// (egress.retry.schedule, with up to 10% jitter, never past the lifetime).
//
// The delivery is made before the commit: a commit that meets Redis
// unavailable (restarting, failing over, its reply lost) is tried again for
// up to commitPatienceMs, so that a short outage does not make the delivery
// again; a try after an EXEC that did run finds the attempt recorded.
//
// A job taken again after its process died mid-way: recipients already
// recorded final are not tried again; one whose next hop said 250 before the
// record was written is delivered again (the one duplicate the design allows).
//
// Does not: hold connections open between deliveries (each attempt opens and
// QUITs its own), or limit connections per destination.

import { setTimeout as sleep } from 'node:timers/promises';
import {
  bounceFor,
  queueAdjustRefs,
  queueEvent,
  queueStats,
  queueTransaction,
  refsKey,
  toStoreError,
  type DeliveryJobV1,
  type DeliveryRecipient,
  type GroupCommit,
  type MessageEvent,
} from '@petrel/queue';
import { UnrecoverableError, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  attemptDelivery,
  DestinationBusy,
  type AttemptDependencies,
  type RecipientResult,
} from './delivery-attempt.js';

export interface ProcessorOptions {
  readonly prefix: string;
  /** The reporting MTA of bounces: ingress.hostname. */
  readonly hostname: string;
  readonly instance: string;
  readonly redis: Redis;
  readonly commits: GroupCommit;
  readonly queues: { readonly transactions: Queue; readonly deliveries: Queue };
  readonly retry: { readonly scheduleMs: readonly number[]; readonly maxLifetimeMs: number };
  /** The attempt's dependencies for one job (its TLS policy and credentials come from its route). */
  dependencies(job: DeliveryJobV1): AttemptDependencies;
  readonly now?: () => Date;
  /** [0, 1), for the jitter; default Math.random. */
  readonly random?: () => number;
  /** How long a commit is tried again while Redis is unavailable; default 0 (not again). */
  readonly commitPatienceMs?: number;
}

export interface AttemptOutcome {
  /** busy: every destination was at its connection limit; nothing was tried or recorded. */
  readonly status: 'done' | 'deferred' | 'busy' | 'nothing-to-do' | 'already-committed';
  readonly results: readonly RecipientResult[];
  /** Every recipient of the job as this attempt left it (results' states, expiry applied). */
  readonly recipients: readonly DeliveryRecipient[];
  readonly dsn: string | null;
  readonly nextAttemptAt: string | null;
  readonly attempt: number;
  /** The message events this attempt recorded (attempt, delivered, deferred, bounced); logged one line each. */
  readonly events: readonly MessageEvent[];
}

export class DeliveryProcessor {
  readonly #o: ProcessorOptions;

  constructor(options: ProcessorOptions) {
    this.#o = options;
  }

  /** The attempt and its commit; the caller delays the job when the outcome is deferred. */
  async attempt(data: DeliveryJobV1): Promise<AttemptOutcome> {
    const o = this.#o;
    if (data?.v !== 1)
      throw new UnrecoverableError(`delivery job: cannot read version ${String(data?.v)}`);
    const attempt = (data.attempts ?? 0) + 1;
    const open = data.recipients.some((r) => r.state === 'pending' || r.state === 'deferred');
    if (!open)
      return {
        status: 'nothing-to-do',
        results: [],
        recipients: data.recipients,
        dsn: null,
        nextAttemptAt: null,
        attempt,
        events: [],
      };
    const body = await o.redis.getBuffer(data.bodyKey);
    if (body === null) {
      throw new UnrecoverableError(`delivery ${data.id}: its body ${data.bodyKey} is missing`);
    }
    const deps = o.dependencies(data);
    let results: RecipientResult[];
    try {
      results = await attemptDelivery(data, body, deps);
    } catch (err) {
      if (!(err instanceof DestinationBusy)) throw err;
      // Not an attempt: back in 1 to 3 s, when a connection may be free.
      const soon = Date.now() + 1000 + Math.round(2000 * (o.random ?? Math.random)());
      return {
        status: 'busy',
        results: [],
        recipients: data.recipients,
        dsn: null,
        nextAttemptAt: new Date(soon).toISOString(),
        attempt,
        events: [],
      };
    }
    const now = o.now?.() ?? new Date();
    const expired = now.getTime() - lifetimeStart(data) >= o.retry.maxLifetimeMs;

    const recipients: DeliveryRecipient[] = [...data.recipients];
    const bounced: DeliveryRecipient[] = [];
    for (const result of results) {
      let state = result.verdict;
      let reply = result.reply;
      if (state === 'deferred' && expired) {
        state = 'bounced';
        reply = { ...reply, text: `delivery time expired: ${reply.text}` };
      }
      const recipient: DeliveryRecipient = {
        ...recipients[result.index]!,
        state,
        lastReply: reply,
      };
      recipients[result.index] = recipient;
      if (state === 'bounced') bounced.push(recipient);
    }
    const deferred = recipients.some((r) => r.state === 'deferred' || r.state === 'pending');
    const nextAttemptAt = deferred
      ? new Date(now.getTime() + this.#delay(data, attempt, now)).toISOString()
      : null;
    const updated: DeliveryJobV1 = {
      ...data,
      recipients,
      attempts: attempt,
      ...(nextAttemptAt === null ? {} : { nextAttemptAt }),
    };
    const bounce = await bounceFor(o.redis, {
      prefix: o.prefix,
      hostname: o.hostname,
      instance: o.instance,
      now,
      original: {
        id: data.messageId,
        receivedAt: data.receivedAt,
        reversePath: data.reversePath,
        origin: data.origin,
        bodyKey: data.bodyKey,
      },
      recipients: bounced.map((r) => ({
        ...r,
        reply: r.lastReply!,
        at: new Date(r.lastReply!.at),
      })),
    });
    const base = {
      service: 'egress',
      instance: o.instance,
      at: now.toISOString(),
      delivery: data.id,
    };
    const tried = results.map((r) => recipients[r.index]!);
    const events: MessageEvent[] = [
      {
        event: 'attempt',
        ...base,
        attempt,
        recipients: tried.map((r) => ({ to: r.forwardPath, state: r.state, reply: r.lastReply })),
        nextAttemptAt,
        dsn: bounce?.job.id ?? null,
      },
    ];
    const inState = (state: string) =>
      tried.filter((r) => r.state === state).map((r) => r.forwardPath);
    if (inState('delivered').length > 0)
      events.push({ event: 'delivered', ...base, recipients: inState('delivered') });
    if (inState('deferred').length > 0)
      events.push({ event: 'deferred', ...base, recipients: inState('deferred'), nextAttemptAt });
    if (inState('bounced').length > 0)
      events.push({
        event: 'bounced',
        ...base,
        recipients: inState('bounced'),
        dsn: bounce?.job.id ?? null,
      });
    const committed = await this.#patiently(() =>
      o.commits.commit(`${o.prefix}:attempt:${data.id}:${attempt}`, async (multi) => {
        // The object form: BullMQ's MULTI takes hset(key, { field: value }) only.
        multi.hset(o.queues.deliveries.toKey(data.id), { data: JSON.stringify(updated) });
        if (bounce !== null) await queueTransaction(multi, o.queues.transactions, bounce);
        for (const event of events) queueEvent(multi, o.prefix, data.messageId, event);
        const count = (state: string) =>
          results.filter((r) => recipients[r.index]!.state === state).length;
        queueStats(multi, o.prefix, {
          delivered: count('delivered'),
          deferred: count('deferred'),
          bounced: count('bounced'),
          dsn: bounce === null ? 0 : 1,
        });
        if (!deferred)
          queueAdjustRefs(
            multi,
            { refs: refsKey(o.prefix, data.messageId), body: data.bodyKey },
            -1,
          );
      }),
    );
    if (!committed)
      return {
        status: 'already-committed',
        results,
        recipients: data.recipients,
        dsn: null,
        nextAttemptAt: null,
        attempt,
        events: [],
      };
    return {
      status: deferred ? 'deferred' : 'done',
      results,
      recipients,
      dsn: bounce?.job.id ?? null,
      nextAttemptAt,
      attempt,
      events,
    };
  }

  /** The commit, tried again while Redis is unavailable, for up to commitPatienceMs. */
  async #patiently(commit: () => Promise<boolean>): Promise<boolean> {
    const until = Date.now() + (this.#o.commitPatienceMs ?? 0);
    for (let wait = 50; ; wait = Math.min(wait * 2, 500)) {
      try {
        return await commit();
      } catch (err) {
        if (Date.now() + wait > until || toStoreError(err, 'commit').reason !== 'unavailable')
          throw err;
        await sleep(wait);
      }
    }
  }

  /** The schedule's step for this attempt, up to 10% more, and never past the lifetime. */
  #delay(data: DeliveryJobV1, attempt: number, now: Date): number {
    const { scheduleMs, maxLifetimeMs } = this.#o.retry;
    const step = scheduleMs[Math.min(attempt - 1, scheduleMs.length - 1)]!;
    const jittered = step * (1 + 0.1 * (this.#o.random ?? Math.random)());
    const remaining = lifetimeStart(data) + maxLifetimeMs - now.getTime();
    return Math.max(1, Math.min(Math.round(jittered), remaining));
  }
}

/** When the queue lifetime started: receipt, or the release from hold. */
function lifetimeStart(data: DeliveryJobV1): number {
  return Date.parse(data.lifetimeFrom ?? data.receivedAt);
}
