// What each admin mutation does to one entry, atomically: the entry's job
// hash and lock are WATCHed, its state read again, and the change made in one
// MULTI with its event (and DSN, body reference, counters) — so an entry an
// egress worker takes meanwhile is not changed (EXEC refused; tried again
// from its new state), and a crash leaves the entry either moved or not.
//
//   retry    delayed (deferred, busy, routing retry) -> attempted now (BullMQ
//            promote); failed -> taken again (BullMQ retry).
//   hold     a delivery queued, deferred or failed -> the held queue.
//   release  held -> routed again (transport map, DNS; a transport `hold`
//            reads as `mx`) and queued for delivery, its lifetime counting
//            from now; a domain that does not resolve stays held.
//   delete   any entry not in an attempt -> removed, its body reference
//            dropped; no DSN.
//   bounce   a delivery or held entry not in an attempt -> removed, with a
//            DSN for its open recipients (5.0.0, returned by the postmaster).
// Every outcome is changed, unchanged (already so) or skipped (with why).
//
// Does not: select entries (admin-service.ts) or authenticate.

import type { Entry } from '@petrel/proto';
import {
  bounceFor,
  DELIVERY_JOB_NAME,
  DELIVERY_JOB_OPTIONS,
  execMulti,
  queueAdjustRefs,
  queueEvent,
  queueStats,
  queueTransaction,
  recordEvent,
  refsKey,
  type ConnectionPool,
  type DeliveryJobV1,
  type DeliveryRecipient,
  type MessageEvent,
} from '@petrel/queue';
import { Job, type Queue } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Resolution } from '../resolution.js';
import { readEntry, type AdminQueues, type QueueEntry } from './entries.js';

export type ActionName = 'retry' | 'hold' | 'release' | 'delete' | 'bounce';

export interface ActionResult {
  readonly outcome: 'changed' | 'unchanged' | 'skipped';
  readonly detail: string;
}

export interface ActionContext {
  readonly prefix: string;
  readonly hostname: string;
  readonly instance: string;
  readonly redis: Redis;
  readonly pool: ConnectionPool;
  readonly queues: AdminQueues;
  /** Each message event an action recorded, after its commit (the JSON log line). */
  readonly logEvent?: (messageId: string, event: MessageEvent) => void;
  /** The domain's route for a release (transport map and DNS, `hold` ignored). */
  route(domain: string): Promise<Resolution>;
  readonly now?: () => Date;
}

export interface Actor {
  readonly by: string;
  readonly reason: string;
}

const RACES = 3;

/** What the action would do to the entry, without doing it. */
export function plan(action: ActionName, entry: Entry): ActionResult {
  const { state, queue } = entry;
  const skip = (detail: string): ActionResult => ({ outcome: 'skipped', detail });
  const same = (detail: string): ActionResult => ({ outcome: 'unchanged', detail });
  const change = (detail: string): ActionResult => ({ outcome: 'changed', detail });
  if (state === 'active' && action !== 'retry')
    return skip('an attempt is in progress: try again when it ends');
  switch (action) {
    case 'retry':
      if (state === 'failed') return change('taken again');
      // Delayed: deferred, a busy destination, or a routing retry.
      if (entry.nextAttemptAt !== '') return change('attempted now');
      return same(`${state}: nothing to bring forward`);
    case 'hold':
      if (state === 'held') return same('already held');
      if (queue !== 'deliveries') return skip('not routed yet: hold it once it is queued');
      return change('held');
    case 'release':
      if (state !== 'held') return same(`${state}: not held`);
      return change('released');
    case 'delete':
      return change('deleted');
    case 'bounce':
      if (queue === 'transactions')
        return skip('not routed yet: delete it, or bounce it once routed');
      return change('bounced');
  }
}

/** Does the action to the entry; the result says what happened. */
export async function act(
  context: ActionContext,
  action: ActionName,
  start: QueueEntry,
  actor: Actor,
): Promise<ActionResult> {
  let current: QueueEntry | null = start;
  for (let race = 0; race < RACES; race++) {
    if (current === null)
      return { outcome: 'skipped', detail: 'gone meanwhile (delivered or removed)' };
    const planned = plan(action, current.entry);
    if (planned.outcome !== 'changed') return planned;
    const done = await attempt(context, action, current, actor, planned);
    if (done !== null) return done;
    current = await readEntry(current.queue, current.entry.id, current.shard);
  }
  return { outcome: 'skipped', detail: 'kept changing under us: try again' };
}

/** null: raced (the entry changed between the read and EXEC). */
async function attempt(
  context: ActionContext,
  action: ActionName,
  qe: QueueEntry,
  actor: Actor,
  planned: ActionResult,
): Promise<ActionResult | null> {
  const now = context.now?.() ?? new Date();
  const event = {
    service: 'routing',
    instance: context.instance,
    at: now.toISOString(),
    entry: qe.entry.id,
    by: actor.by,
    ...(actor.reason === '' ? {} : { reason: actor.reason }),
  };
  if (action === 'retry') {
    try {
      if (qe.bullState === 'failed') await qe.job.retry('failed');
      else await qe.job.promote();
    } catch {
      return null;
    }
    const retried = { event: 'retried', ...event };
    await recordEvent(context.redis, context.prefix, qe.entry.messageId, retried);
    context.logEvent?.(qe.entry.messageId, retried);
    return planned;
  }

  let extra: (multi: ChainableCommander) => Promise<void>;
  let recorded: MessageEvent;
  let detail = planned.detail;
  let stats: Parameters<typeof queueStats>[2] = {};
  const data = qe.job.data as DeliveryJobV1;
  switch (action) {
    case 'hold': {
      const { nextAttemptAt: _next, ...rest } = data;
      recorded = { event: 'held', ...event };
      extra = async (multi) => {
        await addDelivery(multi, context.queues.held, rest);
      };
      break;
    }
    case 'release': {
      const resolution = await context.route(data.route.domain);
      if (resolution.decision !== 'relay') {
        const why =
          resolution.decision === 'reject' || resolution.decision === 'defer'
            ? `${resolution.reply.code} ${resolution.reply.enhanced} ${resolution.reply.text}`
            : resolution.decision;
        return { outcome: 'skipped', detail: `stays held: ${data.route.domain} routes to ${why}` };
      }
      const { nextAttemptAt: _next, ...rest } = data;
      const released: DeliveryJobV1 = {
        ...rest,
        lifetimeFrom: now.toISOString(),
        route: {
          domain: data.route.domain,
          hops: resolution.hops,
          source: resolution.source === 'list' ? 'transport-map' : resolution.source,
          transport: resolution.transport,
          tls: resolution.tls,
          auth: resolution.auth,
        },
      };
      detail = `released to ${resolution.hops.map((h) => `${h.host}:${h.port}`).join(', ')}`;
      recorded = {
        event: 'released',
        ...event,
        hops: released.route.hops.map((h) => `${h.host}:${h.port}`),
      };
      extra = async (multi) => {
        await addDelivery(multi, context.queues.deliveries, released);
      };
      break;
    }
    case 'delete': {
      const routedYet = !(qe.queue.name === 'transactions' && !qe.entry.id.includes('.'));
      extra = async (multi) => {
        if (routedYet)
          queueAdjustRefs(
            multi,
            { refs: refsKey(context.prefix, qe.entry.messageId), body: bodyKeyOf(qe) },
            -1,
          );
        else multi.del(bodyKeyOf(qe));
      };
      recorded = { event: 'deleted', ...event };
      break;
    }
    case 'bounce': {
      const open = data.recipients.filter((r) => r.state === 'pending' || r.state === 'deferred');
      const reply = {
        code: 550,
        enhanced: '5.0.0',
        text: 'returned to the sender by the postmaster',
        synthetic: true,
        host: null,
        at: now.toISOString(),
      };
      const bounce = await bounceFor(context.redis, {
        prefix: context.prefix,
        hostname: context.hostname,
        instance: context.instance,
        now,
        original: {
          id: data.messageId,
          receivedAt: data.receivedAt,
          reversePath: data.reversePath,
          origin: data.origin,
          bodyKey: data.bodyKey,
        },
        recipients: open.map((r: DeliveryRecipient) => ({ ...r, reply, at: now })),
      });
      detail =
        bounce === null ? `bounced (no DSN: ${dsnless(data)})` : `bounced, DSN ${bounce.job.id}`;
      stats = { bounced: open.length, dsn: bounce === null ? 0 : 1 };
      extra = async (multi) => {
        if (bounce !== null) await queueTransaction(multi, context.queues.transactions, bounce);
        queueAdjustRefs(
          multi,
          { refs: refsKey(context.prefix, data.messageId), body: data.bodyKey },
          -1,
        );
      };
      recorded = {
        event: 'bounced',
        ...event,
        recipients: open.map((r) => r.forwardPath),
        dsn: bounce?.job.id ?? null,
      };
      break;
    }
  }

  return context.pool.use(async (connection) => {
    const jobKey = qe.queue.toKey(qe.entry.id);
    const refs = refsKey(context.prefix, qe.entry.messageId);
    await connection.watch(jobKey, `${jobKey}:lock`, refs);
    const [locked, state] = await Promise.all([
      connection.exists(`${jobKey}:lock`),
      qe.queue.getJobState(qe.entry.id),
    ]);
    if (locked > 0 || state !== qe.bullState) {
      await connection.unwatch();
      return null;
    }
    const multi = connection.multi();
    removeJob(multi, qe.queue, qe.entry.id);
    await extra(multi);
    queueEvent(multi, context.prefix, qe.entry.messageId, recorded);
    queueStats(multi, context.prefix, stats);
    // Its scripts loaded first: a NOSCRIPT would remove the job and not add its successor.
    const results = await execMulti(connection, multi);
    if (results === null) return null;
    const failed = results.find(([err]) => err !== null);
    if (failed !== undefined) throw failed[0];
    context.logEvent?.(qe.entry.messageId, recorded);
    return { outcome: 'changed', detail };
  });
}

function dsnless(data: DeliveryJobV1): string {
  return data.origin === 'dsn' ? 'it is a DSN' : 'the sender is <>';
}

function bodyKeyOf(qe: QueueEntry): string {
  return (qe.job.data as { bodyKey: string }).bodyKey;
}

async function addDelivery(
  multi: ChainableCommander,
  queue: Queue,
  data: DeliveryJobV1,
): Promise<void> {
  const options = { ...DELIVERY_JOB_OPTIONS, jobId: data.id };
  await new Job(queue, DELIVERY_JOB_NAME, data, options, data.id).addJob(multi as never);
}

/**
 * BullMQ's removeJob script in our MULTI (Queue#remove runs it alone): the
 * same keys and arguments as BullMQ's own call, for a job without children.
 */
function removeJob(multi: ChainableCommander, queue: Queue, id: string): void {
  const version = (queue.getBackend() as unknown as { version: string }).version;
  const args = [queue.toKey(id), queue.toKey('repeat'), id, 0, queue.toKey('')];
  (multi as unknown as { runCommand(name: string, args: unknown[]): void }).runCommand(
    `removeJob:${version}`,
    args,
  );
}
