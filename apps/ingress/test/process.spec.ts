// The ingress process as an operator runs it: `node apps/ingress/dist/main.js`,
// configured from the environment (docs/configuration.md), with a real Redis.
// SIGTERM drains (the idle session gets 421 at once, the transaction in flight
// finishes with 250, /readyz is 503 meanwhile, exit 0 within the grace period);
// a configuration error exits 78 (EX_CONFIG) naming the key; a Redis that may
// evict keys stops the start, naming maxmemory-policy.
//
// The build (dist/main.js and the libraries' dist) is the Nx build target, which
// the test target depends on (package.json "nx"); when the test runs alone and
// the build is missing or older than the sources, beforeAll runs it.
import { defaultConfig } from '@petrel/config';
import {
  ensureServiceBuilt,
  freePort,
  killServices,
  spawnService,
  startRedis,
  uniquePrefix,
  type RedisHandle,
} from '@petrel/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, readJob } from './support/ingress-harness.js';
import { RawSmtp } from './support/raw-smtp.js';

/** The projects whose dist main.js runs on. */
const spawnIngress = (vars: Record<string, string>) => spawnService('ingress', vars);

async function readyStatus(port: number): Promise<number | null> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
  } catch {
    return null;
  }
}

let redis: RedisHandle;
let client: Redis;

beforeAll(async () => {
  await ensureServiceBuilt('ingress');
  redis = await startRedis();
  client = new Redis(redis.url);
}, 300_000);

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

afterEach(() => killServices());

describe('the ingress process', () => {
  it('drains on SIGTERM: idle session 421 at once, the transaction finishes with 250, /readyz 503, exit 0', async () => {
    const smtpPort = await freePort();
    const metricsPort = await freePort();
    const prefix = uniquePrefix('process');
    const ingress = spawnIngress({
      PETREL_REDIS__URL: redis.url,
      PETREL_REDIS__PREFIX: `'${prefix}'`, // YAML: unquoted braces are a mapping
      PETREL_INGRESS__HOSTNAME: 'mx.petrel.test',
      PETREL_INGRESS__LISTENERS: `[{host: 127.0.0.1, port: ${smtpPort}}]`,
      PETREL_INGRESS__DRAIN_TIMEOUT: '10s',
      PETREL_METRICS__PORT: String(metricsPort),
    });
    await eventually(
      async () => {
        if (ingress.child.exitCode !== null)
          throw new Error(`ingress exited ${ingress.child.exitCode}: ${ingress.stderr()}`);
        return (await readyStatus(metricsPort)) === 200;
      },
      '/readyz 200',
      15_000,
    );

    const idle = await RawSmtp.open(smtpPort);
    const busy = await RawSmtp.open(smtpPort);
    expect(await idle.reply()).toBe('220 mx.petrel.test ESMTP');
    expect(await busy.reply()).toBe('220 mx.petrel.test ESMTP');
    await busy.command('EHLO client.test');
    expect(await busy.command('MAIL FROM:<a@client.test>')).toBe('250 2.1.0 Ok');
    expect(await busy.command('RCPT TO:<b@example.test>')).toBe('250 2.1.5 Ok');

    const signalled = Date.now();
    ingress.child.kill('SIGTERM');
    expect(await idle.reply(2000)).toBe(
      '421 4.3.2 mx.petrel.test Service shutting down, closing transmission channel',
    );
    expect(Date.now() - signalled).toBeLessThan(1000);
    expect(await idle.waitClosed()).toBe(true);
    await eventually(async () => (await readyStatus(metricsPort)) === 503, '/readyz 503');

    expect(await busy.command('DATA')).toMatch(/^354 /);
    const queued = await busy.command('Subject: last one\r\n\r\nin flight at SIGTERM\r\n.');
    expect(queued).toMatch(/^250 2\.0\.0 Ok: queued as \S+$/);
    expect(await busy.command('MAIL FROM:<a@client.test>')).toMatch(/^421 4\.3\.2 /);
    expect(await busy.waitClosed()).toBe(true);

    const exit = await ingress.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(10_000);
    const c = defaultConfig();
    c.redis.prefix = prefix;
    const job = await readJob(client, c, /queued as (\S+)/.exec(queued)![1]!);
    expect(job?.body.toString('latin1')).toContain('\r\n\r\nin flight at SIGTERM\r\n');
    const log = ingress.stdout();
    expect(log).toMatch(/"msg":"draining"/);
    expect(log).toMatch(/"msg":"drained"/);
    expect(ingress.stderr()).toBe('');
  }, 40_000);

  it('exits 78 on a configuration error, naming the key and the variable on stderr', async () => {
    const ingress = spawnIngress({
      PETREL_REDIS__URL: redis.url,
      PETREL_INGRESS__MAX_MESSAGE_SIZE: 'big',
    });
    expect(await ingress.exited).toEqual({ code: 78, signal: null });
    expect(ingress.stderr()).toMatch(
      /^petrel ingress: ingress\.maxMessageSize \(from PETREL_INGRESS__MAX_MESSAGE_SIZE\): expected an integer/m,
    );
  }, 30_000);

  it('refuses to run against a Redis that may evict keys: exit non-zero naming maxmemory-policy', async () => {
    const evicting = await startRedis({ own: true, maxmemoryPolicy: 'allkeys-lru' });
    try {
      const smtpPort = await freePort();
      const ingress = spawnIngress({
        PETREL_REDIS__URL: evicting.url,
        PETREL_INGRESS__LISTENERS: `[{host: 127.0.0.1, port: ${smtpPort}}]`,
        PETREL_METRICS__PORT: String(await freePort()),
      });
      const exit = await ingress.exited;
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(ingress.stderr()).toMatch(/maxmemory-policy is allkeys-lru/);
      expect(ingress.stderr()).toMatch(/set maxmemory-policy noeviction/);
    } finally {
      await evicting.stop();
    }
  }, 30_000);
});
