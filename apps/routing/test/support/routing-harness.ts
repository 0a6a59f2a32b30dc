// What the routing tests share: a configuration on a fresh Redis prefix with
// the test's own DNS server, transactions stored through the real store path
// (TransactionStore, as ingress stores them), and the ways to read what
// routing wrote (delivery jobs, held jobs, DSN transactions, references).
import { defaultConfig, type PetrelConfig } from '@petrel/config';
import { createLogger } from '@petrel/observability';
import {
  QUEUES,
  TransactionStore,
  newMessageId,
  refsKey,
  type DeliveryJobV1,
  type TransactionJobV1,
} from '@petrel/queue';
import { DEFAULT_LIMITS, parsePath, type Path } from '@petrel/smtp';
import { uniquePrefix } from '@petrel/testing';

export { eventually } from '@petrel/testing';
import { Queue, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';

export const quietLogger = createLogger({ service: 'routing-test', level: 'fatal' });

export function routingConfig(
  redisUrl: string,
  dnsAddress: string,
  change: (c: PetrelConfig) => void = () => undefined,
): PetrelConfig {
  const c = defaultConfig();
  c.redis.url = redisUrl;
  c.redis.prefix = uniquePrefix('routing');
  c.redis.durability = 'none';
  c.redis.commandTimeoutMs = 2000;
  c.ingress.hostname = 'mx.petrel.test';
  c.routing.dns = { servers: [dnsAddress], timeoutMs: 300 };
  c.routing.grpc = { host: '127.0.0.1', port: 0 };
  c.admin.port = 0;
  c.routing.lockDurationMs = 2000;
  c.metrics.port = 0;
  change(c);
  return c;
}

export function path(text: string): Path {
  const parsed = parsePath(text, { kind: 'forward', utf8Allowed: true, limits: DEFAULT_LIMITS });
  if (!parsed.ok) throw new Error(`bad path ${text}: ${parsed.error}`);
  return parsed.path;
}

const NULL_PATH: Path = { route: [], mailbox: null, raw: '' };

export interface Message {
  readonly from: string; // '<>' or '<a@b>'
  readonly to: readonly string[]; // '<x@y>', '<@a,@b:x@y>'
  readonly trusted?: boolean;
  readonly body?: string;
}

export const BODY =
  'Received: from client.test by mx.petrel.test; Mon, 23 Nov 2026 17:00:00 +0000\r\n' +
  'From: sender@a.test\r\nTo: several\r\nSubject: routing test\r\nMessage-ID: <t1@a.test>\r\n' +
  '\r\nHello.\r\n';

/** Stores a transaction exactly as ingress does (body, job; durability none). */
export class Sender {
  readonly #store: TransactionStore;

  private constructor(store: TransactionStore) {
    this.#store = store;
  }

  static async open(redis: Redis, c: PetrelConfig): Promise<Sender> {
    const store = new TransactionStore({
      redis,
      prefix: c.redis.prefix,
      durability: 'none',
      replicas: 0,
      durabilityTimeoutMs: 1000,
    });
    await store.init();
    return new Sender(store);
  }

  async send(message: Message): Promise<TransactionJobV1> {
    const id = newMessageId();
    return this.#store.store(
      {
        id,
        receivedAt: new Date().toISOString(),
        client: {
          address: '192.0.2.99',
          port: 40000,
          helo: { verb: 'EHLO', name: 'client.test' },
          tls: null,
          auth: null,
          proxied: false,
          trusted: message.trusted ?? false,
        },
        ingress: { hostname: 'mx.petrel.test', instance: 'test' },
        verb: 'MAIL',
        reversePath: message.from === '<>' ? NULL_PATH : path(message.from),
        parameters: {},
        recipients: message.to.map((to) => ({ forwardPath: path(to), parameters: {} })),
      },
      [Buffer.from(message.body ?? BODY)],
    );
  }

  async close(): Promise<void> {
    await this.#store.close();
  }
}

export interface Written {
  readonly deliveries: DeliveryJobV1[];
  readonly held: DeliveryJobV1[];
  /** Transactions jobs not yet routed (DSNs, routing retries), with their BullMQ ids and states. */
  readonly transactions: { id: string; state: string; delay: number; data: TransactionJobV1 }[];
  readonly failed: number;
}

const STATES: JobType[] = ['waiting', 'delayed', 'prioritized', 'active', 'completed'];

/** Everything routing wrote under this prefix. */
export async function written(redis: Redis, c: PetrelConfig): Promise<Written> {
  const open = (name: string) => new Queue(name, { connection: redis, prefix: c.redis.prefix });
  const [deliveries, held, transactions] = [
    open(QUEUES.deliveries),
    open(QUEUES.held),
    open(QUEUES.transactions),
  ];
  try {
    const tx = await transactions.getJobs(STATES);
    const states = await Promise.all(tx.map((j) => j.getState()));
    const failed =
      (await transactions.getJobCountByTypes('failed')) +
      (await deliveries.getJobCountByTypes('failed'));
    const sorted = (jobs: { id?: string; data: DeliveryJobV1 }[]) =>
      jobs
        .map((j) => {
          if (j.id !== j.data.id)
            throw new Error(`BullMQ id ${j.id} is not the job's ${j.data.id}`);
          return j.data;
        })
        .sort((x, y) => x.id.localeCompare(y.id));
    return {
      deliveries: sorted(await deliveries.getJobs(STATES)),
      held: sorted(await held.getJobs(STATES)),
      transactions: tx.map((j, i) => ({
        id: j.id!,
        state: states[i]!,
        delay: j.delay,
        data: j.data as TransactionJobV1,
      })),
      failed,
    };
  } finally {
    await Promise.all([deliveries.close(), held.close(), transactions.close()]);
  }
}

/** The body's reference count and whether the body still exists. */
export async function refs(
  redis: Redis,
  c: PetrelConfig,
  job: TransactionJobV1,
): Promise<{ refs: number | null; body: boolean }> {
  const count = await redis.get(refsKey(c.redis.prefix, job.id));
  return {
    refs: count === null ? null : Number(count),
    body: (await redis.exists(job.bodyKey)) === 1,
  };
}

/** Whether a transactions job is still waiting, delayed or active. */
export async function pending(redis: Redis, c: PetrelConfig, jobId: string): Promise<boolean> {
  const queue = new Queue(QUEUES.transactions, { connection: redis, prefix: c.redis.prefix });
  try {
    const job = await queue.getJob(jobId);
    return job !== undefined && (await job.getState()) !== 'completed';
  } finally {
    await queue.close();
  }
}
