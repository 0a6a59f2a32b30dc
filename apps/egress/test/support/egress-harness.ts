// What the egress tests share: a configuration on a fresh Redis prefix, and
// deliveries written as routing writes them (body, reference count, a
// DeliveryJobV1 on the `deliveries` queue), read back after egress worked.
import { defaultConfig, type PetrelConfig } from '@petrel/config';
import { createLogger } from '@petrel/observability';
import {
  bodyKey,
  DELIVERY_JOB_NAME,
  DELIVERY_JOB_OPTIONS,
  newMessageId,
  QUEUES,
  refsKey,
  type DeliveryHop,
  type DeliveryJobV1,
  type TransactionJobV1,
} from '@petrel/queue';
import { DEFAULT_LIMITS, formatMailbox, parsePath, type Path } from '@petrel/smtp';
import { uniquePrefix } from '@petrel/testing';

export { eventually } from '@petrel/testing';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export const quietLogger = createLogger({ service: 'egress-test', level: 'fatal' });

export function egressConfig(
  redisUrl: string,
  change: (c: PetrelConfig) => void = () => undefined,
): PetrelConfig {
  const c = defaultConfig();
  c.redis.url = redisUrl;
  c.redis.prefix = uniquePrefix('egress');
  c.redis.durability = 'none';
  c.ingress.hostname = 'mx.petrel.test';
  c.egress.lockDurationMs = 2000;
  c.egress.tls = 'none';
  c.egress.retry = { scheduleMs: [100], maxLifetimeMs: 60_000 };
  c.egress.timeouts = {
    connectMs: 2000,
    greetingMs: 2000,
    commandMs: 2000,
    dataStartMs: 2000,
    dataBlockMs: 2000,
    dataEndMs: 2000,
  };
  c.metrics.port = 0;
  change(c);
  return c;
}

export function path(text: string): Path {
  const parsed = parsePath(text, { kind: 'reverse', utf8Allowed: true, limits: DEFAULT_LIMITS });
  if (!parsed.ok) throw new Error(`bad path ${text}: ${parsed.error}`);
  return parsed.path;
}

export const BODY = Buffer.from(
  'Received: from client.test by mx.petrel.test; Mon, 23 Nov 2026 18:00:00 +0000\r\n' +
    'From: sender@a.test\r\nTo: x@sink.test\r\nSubject: egress test\r\n\r\n' +
    'Hello.\r\n.starts with a dot\r\n',
);

export interface Enqueued {
  readonly job: DeliveryJobV1;
}

/** Writes one delivery as routing does: the body, its reference, the job. */
export async function enqueueDelivery(
  redis: Redis,
  c: PetrelConfig,
  options: {
    from: string;
    to: readonly string[];
    hops: readonly DeliveryHop[];
    body?: Buffer;
    receivedAt?: Date;
    verb?: TransactionJobV1['verb'];
  },
): Promise<DeliveryJobV1> {
  const prefix = c.redis.prefix;
  const messageId = newMessageId();
  const body = options.body ?? BODY;
  const job: DeliveryJobV1 = {
    v: 1,
    id: `${messageId}.1`,
    messageId,
    receivedAt: (options.receivedAt ?? new Date()).toISOString(),
    routedAt: new Date().toISOString(),
    verb: options.verb ?? 'MAIL',
    reversePath: path(options.from),
    parameters: {},
    size: body.length,
    bodyKey: bodyKey(prefix, messageId),
    origin: 'smtp',
    route: {
      domain: 'sink.test',
      hops: options.hops,
      source: 'transport-map',
      transport: 'sink.test',
      tls: null,
      auth: null,
    },
    recipients: options.to.map((to) => {
      const forward = formatMailbox(path(to).mailbox!);
      return { forwardPath: forward, original: forward, state: 'pending' as const };
    }),
  };
  await redis.set(job.bodyKey, body);
  await redis.set(refsKey(prefix, messageId), '1');
  const queue = new Queue(QUEUES.deliveries, { connection: redis, prefix });
  await queue.add(DELIVERY_JOB_NAME, job, { ...DELIVERY_JOB_OPTIONS, jobId: job.id });
  await queue.close();
  return job;
}

/** The delivery job as it is now in Redis (state and data), or null once removed. */
export async function deliveryState(
  redis: Redis,
  c: PetrelConfig,
  id: string,
): Promise<{ state: string; data: DeliveryJobV1 } | null> {
  const queue = new Queue(QUEUES.deliveries, { connection: redis, prefix: c.redis.prefix });
  try {
    const job = await queue.getJob(id);
    if (job === undefined) return null;
    return { state: await job.getState(), data: job.data as DeliveryJobV1 };
  } finally {
    await queue.close();
  }
}

/** Transactions waiting (the DSNs egress wrote: no routing runs in these tests), with their bodies. */
export async function waitingTransactions(
  redis: Redis,
  c: PetrelConfig,
): Promise<{ job: TransactionJobV1; body: string }[]> {
  const queue = new Queue(QUEUES.transactions, { connection: redis, prefix: c.redis.prefix });
  try {
    const jobs = await queue.getJobs(['waiting']);
    return Promise.all(
      jobs.map(async (j) => {
        const job = j.data as TransactionJobV1;
        return { job, body: (await redis.get(job.bodyKey)) ?? '' };
      }),
    );
  } finally {
    await queue.close();
  }
}
