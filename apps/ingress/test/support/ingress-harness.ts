// What the socket-level ingress tests share: a configuration on a fresh Redis
// prefix and a free port, the ingress built from it, and the ways to look at
// what reached Redis (a job, its body, how many of each). The same pattern as
// ingress.spec.ts's config()/start()/job().
import { defaultConfig, type PetrelConfig } from '@petrel/config';
import { createLogger } from '@petrel/observability';
import { QUEUES, type TransactionJobV1 } from '@petrel/queue';
import { uniquePrefix } from '@petrel/testing';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createIngress, type Ingress, type IngressDependencies } from '../../src/create-ingress.js';
import { hashPassword } from '../../src/policy/users-file.js';

export const quietLogger = createLogger({ service: 'ingress-test', level: 'fatal' });

/** Defaults for a test: loopback trusted, relay.test a relay domain, any free ports. */
export function ingressConfig(
  redisUrl: string,
  change: (c: PetrelConfig) => void = () => undefined,
): PetrelConfig {
  const c = defaultConfig();
  c.redis.url = redisUrl;
  c.redis.prefix = uniquePrefix('ingress');
  c.redis.durabilityTimeoutMs = 500;
  c.redis.commandTimeoutMs = 500;
  c.ingress.hostname = 'mx.petrel.test';
  c.ingress.listeners = [
    { host: '127.0.0.1', port: 0, proxyProtocol: false, allowPlaintextAuth: false },
  ];
  c.ingress.relayDomains = ['relay.test'];
  c.ingress.drainTimeoutMs = 2000;
  c.metrics.port = 0;
  change(c);
  return c;
}

export interface Started {
  readonly ingress: Ingress;
  /** The first listener's port. */
  readonly port: number;
}

/** Starts ingress; the caller stops it (or lists it in its afterEach). */
export async function startIngress(
  c: PetrelConfig,
  deps: IngressDependencies = {},
): Promise<Started> {
  const ingress = createIngress(c, { logger: quietLogger, instance: 'test', ...deps });
  try {
    await ingress.start();
  } catch (err) {
    await ingress.stop().catch(() => undefined);
    throw err;
  }
  return { ingress, port: ingress.listeners[0]!.port };
}

export interface StoredJob {
  readonly data: TransactionJobV1;
  readonly body: Buffer;
}

/** The transaction job with this id and its body, or null. */
export async function readJob(
  client: Redis,
  c: PetrelConfig,
  id: string,
): Promise<StoredJob | null> {
  const queue = new Queue(QUEUES.transactions, { connection: client, prefix: c.redis.prefix });
  try {
    const j = await queue.getJob(id);
    if (!j) return null;
    const data = j.data as TransactionJobV1;
    const body = await client.getBuffer(data.bodyKey);
    if (body === null) throw new Error(`job ${id} has no body at ${data.bodyKey}`);
    return { data, body };
  } finally {
    await queue.close();
  }
}

/** Every transaction job on the queue under this configuration's prefix. */
export async function readJobs(client: Redis, c: PetrelConfig): Promise<StoredJob[]> {
  const queue = new Queue(QUEUES.transactions, { connection: client, prefix: c.redis.prefix });
  try {
    const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active']);
    const out: StoredJob[] = [];
    for (const j of jobs) {
      const data = j.data as TransactionJobV1;
      out.push({ data, body: (await client.getBuffer(data.bodyKey))! });
    }
    return out;
  } finally {
    await queue.close();
  }
}

/** How many transaction jobs and message bodies are under this configuration's prefix. */
export async function countStored(
  client: Redis,
  c: PetrelConfig,
): Promise<{ jobs: number; bodies: number }> {
  const queue = new Queue(QUEUES.transactions, { connection: client, prefix: c.redis.prefix });
  try {
    const jobs = await queue.getJobCountByTypes('waiting', 'delayed', 'prioritized', 'active');
    const bodies = await client.keys(`${escapeGlob(c.redis.prefix)}:body:*`);
    return { jobs, bodies: bodies.length };
  } finally {
    await queue.close();
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (ch) => `\\${ch}`);
}

/**
 * The body as the client sent it: the stored body less the one Received:
 * header ingress prepends (its first line and the continuation lines after it).
 */
export function stripReceived(stored: Buffer): Buffer {
  if (!stored.subarray(0, 10).equals(Buffer.from('Received: ')))
    throw new Error(`stored body does not start with Received: ${stored.subarray(0, 40)}`);
  let at = 0;
  for (;;) {
    const crlf = stored.indexOf('\r\n', at);
    if (crlf < 0) throw new Error('the Received header never ends');
    const next = stored[crlf + 2];
    if (next !== 0x09 && next !== 0x20) return stored.subarray(crlf + 2);
    at = crlf + 2;
  }
}

export { makeCertificate } from '@petrel/testing';

/** The users file text for these username → password pairs (cheap scrypt: tests only). */
export async function usersFileText(users: Record<string, string>): Promise<string> {
  let text = '# written by a test\n';
  for (const [name, password] of Object.entries(users))
    text += `${name}:${await hashPassword(password, { ln: 10 })}\n`;
  return text;
}

/** Polls until `check` is true (or returns a value that is not false/undefined), or throws. */
export async function eventually<T>(
  check: () => Promise<T | false | undefined> | T | false | undefined,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== false && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
