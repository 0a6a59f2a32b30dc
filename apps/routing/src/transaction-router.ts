// Routes one `transactions` job and commits the result in ONE Redis
// transaction (MULTI/EXEC), guarded by WATCH on the job's routed key (shared
// with the other commits of the same moment: group-commit.ts):
//   - the deliveries (and held deliveries), one job each;
//   - the bounce (a DSN transaction, body and job) for the recipients that
//     cannot be routed, unless the reverse-path is null;
//   - a routing retry (a delayed `transactions` job for the same message with
//     the recipients DNS could not route yet), until the queue lifetime ends,
//     when they bounce too;
//   - the body's reference count (message-refs.ts), which deletes the body
//     when nothing references it any more;
//   - the routed key, "done".
// Either all of it exists or none of it. A job routed again (its routing
// process died after EXEC, before BullMQ marked it completed; or its lock
// expired while it still worked) finds the routed key set, or loses the EXEC
// race, and commits nothing: exactly one set of deliveries per transaction.
//
// Does not: resolve anything (recipient-router.ts), or run the worker.

import {
  bounceFor,
  ConnectionPool,
  GroupCommit,
  DELIVERY_JOB_NAME,
  DELIVERY_JOB_OPTIONS,
  deliveryJobId,
  queueAdjustRefs,
  queueEvent,
  queueStats,
  queueTransaction,
  refsKey,
  routedKey,
  type DeliveryJobV1,
  type TransactionJobV1,
} from '@petrel/queue';
import { Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RecipientFailure, RecipientRouter, RoutingPlan } from './recipient-router.js';

/** How long forget() gathers keys before one UNLINK. */
const FORGET_BATCH_MS = 100;
/** How long a routed key outlives its commit when nothing deletes it (a crash). */
const ROUTED_TTL_SECONDS = 7 * 24 * 3600;

export interface TransactionRouterOptions {
  readonly prefix: string;
  /** ingress.hostname: the reporting MTA of the bounces. */
  readonly hostname: string;
  readonly instance: string;
  readonly router: RecipientRouter;
  readonly queues: {
    readonly transactions: Queue;
    readonly deliveries: Queue;
    readonly held: Queue;
  };
  /** Connections for WATCH/MULTI/EXEC, each with BullMQ's scripts (connection-pool.ts). */
  readonly pool: ConnectionPool;
  /** Reads the body's headers for a bounce. */
  readonly redis: Redis;
  /** egress.retry: the same schedule and lifetime apply to routing retries. */
  readonly retry: { readonly scheduleMs: readonly number[]; readonly maxLifetimeMs: number };
  readonly now?: () => Date;
}

export interface RoutingOutcome {
  /** 'already-routed': another run committed this job; nothing was written. */
  readonly status: 'routed' | 'already-routed';
  readonly plan: RoutingPlan;
  readonly deliveries: readonly string[];
  readonly held: readonly string[];
  readonly bounced: number;
  /** Recipients to route again later, and when. */
  readonly retry: {
    readonly jobId: string;
    readonly recipients: number;
    readonly delayMs: number;
  } | null;
  /** The DSN's message id, or null (nothing bounced, or the reverse-path is null). */
  readonly dsn: string | null;
  /** Bounced recipients no DSN reports (null reverse-path). */
  readonly unreported: number;
  /** Recipients still unroutable at the end of the queue lifetime were bounced. */
  readonly expired: boolean;
}

export class TransactionRouter {
  readonly #o: TransactionRouterOptions;
  readonly #forgotten: string[] = [];
  readonly #commits: GroupCommit;

  constructor(options: TransactionRouterOptions) {
    this.#o = options;
    this.#commits = new GroupCommit({ pool: options.pool, ttlSeconds: ROUTED_TTL_SECONDS });
  }

  /** jobId: the BullMQ id of the transactions job (the message id, or "<id>.r<n>" for a retry). */
  async route(jobId: string, job: TransactionJobV1): Promise<RoutingOutcome> {
    const o = this.#o;
    const now = o.now?.() ?? new Date();
    const plan = await o.router.plan(job);
    const attempt = job.routingAttempt ?? 0;
    const expired = now.getTime() - Date.parse(job.receivedAt) >= o.retry.maxLifetimeMs;
    const bounced: RecipientFailure[] = [...plan.bounced];
    let retry: RoutingOutcome['retry'] = null;
    let retryJob: TransactionJobV1 | null = null;
    if (plan.deferred.length > 0 && expired) {
      for (const failure of plan.deferred) {
        bounced.push({
          ...failure,
          reply: { ...failure.reply, text: `delivery time expired: ${failure.reply.text}` },
        });
      }
    } else if (plan.deferred.length > 0) {
      const schedule = o.retry.scheduleMs;
      const remaining = Date.parse(job.receivedAt) + o.retry.maxLifetimeMs - now.getTime();
      const delayMs = Math.max(
        1,
        Math.min(schedule[Math.min(attempt, schedule.length - 1)]!, remaining),
      );
      retryJob = {
        ...job,
        recipients: plan.deferred.map((failure) => ({ forwardPath: failure.path, parameters: {} })),
        routingAttempt: attempt + 1,
      };
      retry = { jobId: `${job.id}.r${attempt + 1}`, recipients: plan.deferred.length, delayMs };
    }

    const bounce = await bounceFor(o.redis, {
      prefix: o.prefix,
      hostname: o.hostname,
      instance: o.instance,
      now,
      original: job,
      recipients: bounced.map(({ recipient, reply }) => ({
        ...recipient,
        reply: { ...reply, synthetic: true },
        at: now,
      })),
    });

    const routedAt = now.toISOString();
    const deliveries: string[] = [];
    const held: string[] = [];
    const jobs = plan.deliveries.map((delivery, i) => {
      const id = deliveryJobId(jobId, i + 1);
      (delivery.queue === 'held' ? held : deliveries).push(id);
      const data: DeliveryJobV1 = {
        v: 1,
        id,
        messageId: job.id,
        receivedAt: job.receivedAt,
        routedAt,
        verb: job.verb,
        reversePath: job.reversePath,
        parameters: job.parameters,
        size: job.size,
        bodyKey: job.bodyKey,
        origin: job.origin ?? 'smtp',
        route: delivery.route,
        recipients: delivery.recipients,
      };
      return { queue: o.queues[delivery.queue], data };
    });
    const refsChange = jobs.length + (retry === null ? 0 : 1) - (attempt > 0 ? 1 : 0);

    const committed = await this.#commits.commit(routedKey(o.prefix, jobId), async (multi) => {
      for (const { queue, data } of jobs) {
        const options = { ...DELIVERY_JOB_OPTIONS, jobId: data.id };
        await new Job(queue, DELIVERY_JOB_NAME, data, options, data.id).addJob(multi as never);
      }
      if (bounce !== null) await queueTransaction(multi, o.queues.transactions, bounce);
      if (retry !== null && retryJob !== null) {
        await queueTransaction(
          multi,
          o.queues.transactions,
          { job: retryJob },
          { jobId: retry.jobId, delay: retry.delayMs },
        );
      }
      queueAdjustRefs(multi, { refs: refsKey(o.prefix, job.id), body: job.bodyKey }, refsChange);
      queueStats(multi, o.prefix, { bounced: bounced.length, dsn: bounce === null ? 0 : 1 });
      queueEvent(multi, o.prefix, job.id, {
        event: 'routed',
        service: 'routing',
        instance: o.instance,
        at: routedAt,
        job: jobId,
        deliveries: jobs.map(({ data }) => ({
          id: data.id,
          hops: data.route.hops.map((hop) => `${hop.host}:${hop.port}`),
          recipients: data.recipients.map((r) => r.forwardPath),
        })),
        held: held,
        bounced: bounced.map((f) => ({ to: f.recipient.forwardPath, reply: f.reply })),
        deferred: plan.deferred.map((f) => ({ to: f.recipient.forwardPath, reply: f.reply })),
        retryAt: retry === null ? null : new Date(now.getTime() + retry.delayMs).toISOString(),
        dsn: bounce?.job.id ?? null,
      });
    });
    const outcome = {
      plan,
      deliveries,
      held,
      bounced: bounced.length,
      retry,
      dsn: bounce?.job.id ?? null,
      unreported: bounce === null ? bounced.length : 0,
      expired: plan.deferred.length > 0 && expired,
    };
    return committed
      ? { status: 'routed', ...outcome }
      : { status: 'already-routed', ...outcome, deliveries: [], held: [], retry: null, dsn: null };
  }

  /**
   * Deletes the routed key of a job BullMQ has marked completed (best effort:
   * it expires anyway), with the others of the same moment in one UNLINK.
   */
  forget(jobId: string): void {
    this.#forgotten.push(routedKey(this.#o.prefix, jobId));
    if (this.#forgotten.length === 1) setTimeout(() => this.#unlink(), FORGET_BATCH_MS).unref();
  }

  /** Sends the UNLINK of the keys forget() gathered; resolves when Redis answered. */
  async flush(): Promise<void> {
    await this.#unlink();
  }

  async #unlink(): Promise<void> {
    const keys = this.#forgotten.splice(0);
    if (keys.length > 0) await this.#o.redis.unlink(...keys).catch(() => undefined);
  }
}
