// Shared by the store's specs: clients made the way ingress makes them, a
// sample transaction, and the keys a prefix owns.

import { DEFAULT_LIMITS, parsePath, type Path } from '@petrel/smtp';
import type { Redis } from 'ioredis';
import { QUEUES } from '../../src/queues.js';
import { createRedis, whenReady } from '../../src/redis-client.js';
import { newMessageId } from '../../src/transaction-job.js';
import type { TransactionRecord, TransactionStore } from '../../src/transaction-store.js';

const clients: Redis[] = [];

/** A fail-fast client (createRedis) whose connection errors are expected and ignored. */
export function connect(url: string, commandTimeoutMs = 500, prefix?: string): Redis {
  const redis = createRedis(url, {
    commandTimeoutMs,
    name: 'petrel-test',
    ...(prefix !== undefined ? { prefix } : {}),
  });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

/** connect(), once the connection is ready (for the test's own reads and writes). */
export async function ready(
  url: string,
  commandTimeoutMs = 2_000,
  prefix?: string,
): Promise<Redis> {
  const redis = connect(url, commandTimeoutMs, prefix);
  await whenReady(redis, 5_000);
  return redis;
}

/** Disconnects every client connect() made. */
export function disconnectAll(): void {
  for (const redis of clients.splice(0)) redis.disconnect();
}

export function path(text: string, kind: 'reverse' | 'forward' = 'forward'): Path {
  const parsed = parsePath(text, { kind, utf8Allowed: true, limits: DEFAULT_LIMITS });
  if (!parsed.ok) throw new Error(`bad path ${text}`);
  return parsed.path;
}

export function sampleRecord(overrides: Partial<TransactionRecord> = {}): TransactionRecord {
  return {
    id: newMessageId(),
    receivedAt: new Date().toISOString(),
    client: {
      address: '192.0.2.10',
      port: 53211,
      helo: { verb: 'EHLO', name: 'client.test' },
      tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
      auth: 'alice',
      proxied: false,
    },
    ingress: { hostname: 'relay.test', instance: 'relay.test:1' },
    verb: 'SOML',
    reversePath: path('<@hop.test:sender@client.test>', 'reverse'),
    parameters: { size: 300, body: '8BITMIME', smtputf8: true, auth: null },
    recipients: [
      { forwardPath: path('<rcpt1@example.test>'), parameters: {} },
      { forwardPath: path('<"quoted local"@[192.0.2.1]>'), parameters: {} },
      { forwardPath: path('<用户@例子.test>'), parameters: {} },
    ],
    ...overrides,
  };
}

/** Every octet value, twice, split across chunks at awkward places. */
export function binaryBody(): Buffer[] {
  const all = Buffer.alloc(512);
  for (let i = 0; i < all.length; i++) all[i] = i % 256;
  return [all.subarray(0, 1), all.subarray(1, 13), all.subarray(13, 300), all.subarray(300)];
}

/** Keys under the prefix matching the pattern (glob), by SCAN. */
export async function keys(redis: Redis, prefix: string, pattern = '*'): Promise<string[]> {
  const escaped = prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${escaped}:${pattern}`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  return found.sort();
}

export async function until(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

/**
 * Stores sample transactions one after another, without pause, until stop():
 * what resolved (the 250s ingress would give) and the refusals (the 4yz).
 */
export function startWriter(store: TransactionStore) {
  const acknowledged: { id: string; bodyKey: string }[] = [];
  const refused: string[] = [];
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      try {
        acknowledged.push(await store.store(sampleRecord(), [Buffer.from(`message ${i}\r\n`)]));
      } catch (e) {
        refused.push((e as Error).message);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  })();
  return {
    acknowledged,
    refused,
    /** Waits until `count` stores have resolved in all; fails the test after `timeoutMs`. */
    async storedBy(count: number, timeoutMs = 20_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (acknowledged.length < count && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      if (acknowledged.length < count)
        throw new Error(
          `${acknowledged.length} stores resolved, not ${count}; refusals: ${refused.slice(-3).join('; ')}`,
        );
    },
    async stop(): Promise<void> {
      writing = false;
      await writer;
    },
  };
}

/** The ids among `stored` whose job or body `redis` does not hold. */
export async function missingFrom(
  redis: Redis,
  prefix: string,
  stored: readonly { id: string; bodyKey: string }[],
): Promise<string[]> {
  const missing: string[] = [];
  for (const { id, bodyKey } of stored) {
    const [job, body] = await Promise.all([
      redis.exists(`${prefix}:${QUEUES.transactions}:${id}`),
      redis.exists(bodyKey),
    ]);
    if (job !== 1 || body !== 1) missing.push(id);
  }
  return missing;
}
