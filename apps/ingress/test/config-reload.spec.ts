// The configuration reloaded while ingress runs (createIngress with
// deps.reload, the file watched with a short poll): a change of the PETREL_CONFIG
// file puts ingress.trustedNetworks, ingress.relayDomains, ingress.tls and
// ingress.auth.usersFile in force for the next command; a file that does not
// load, or that names a certificate or users file that does not, is refused
// with an error line naming the key, and the configuration in force stays.
// The SIGHUP path, through the real process: config-reload-process.spec.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@petrel/config';
import { createLogger, createRegistry } from '@petrel/observability';
import {
  captureLog,
  replaceFile,
  startRedis,
  uniquePrefix,
  writeConfig,
  type LogLine,
  type RedisHandle,
} from '@petrel/testing';
import type { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createIngress, type Ingress } from '../src/create-ingress.js';
import { eventually, usersFileText } from './support/ingress-harness.js';
import { RawSmtp } from './support/raw-smtp.js';
import {
  certificate,
  expiryGauge,
  offeredFingerprint,
  openTransaction,
  rcpt,
} from './support/reload-support.js';

let redis: RedisHandle;
let dir: string | undefined;
const started: Ingress[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  for (const i of started.splice(0)) await i.stop().catch(() => undefined);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const RELAY_DENIED = '554 5.7.1 Relay access denied';
const RCPT_OK = '250 2.1.5 Ok';

/** The configuration file's content: every key the test does not change is the same each time. */
function config(prefix: string, ingress: Record<string, unknown>): unknown {
  return {
    redis: { url: redis.url, prefix, durabilityTimeout: '500ms', commandTimeout: '500ms' },
    ingress: {
      hostname: 'mx.petrel.test',
      listeners: [{ host: '127.0.0.1', port: 0 }],
      trustedNetworks: ['10.0.0.0/8'],
      relayDomains: ['relay.test'],
      drainTimeout: '2s',
      ...ingress,
    },
    metrics: { port: 0 },
  };
}

/** Ingress started from the file, watching it; its log lines and its metrics registry. */
async function start(file: string): Promise<{
  ingress: Ingress;
  port: number;
  lines: () => LogLine[];
  registry: Registry;
}> {
  const { destination, lines } = captureLog();
  const registry = createRegistry({ collectDefaults: false });
  const ingress = createIngress(loadConfig({ env: {}, file }), {
    logger: createLogger({ service: 'ingress-test', level: 'info', destination }),
    registry,
    instance: 'test',
    reload: { file, env: {}, signal: null, pollIntervalMs: 100, debounceMs: 50 },
  });
  started.push(ingress);
  await ingress.start();
  return { ingress, port: ingress.listeners[0]!.port, lines: () => lines, registry };
}

const reloads = (lines: LogLine[], outcome: string) =>
  lines.filter((l) => l.event === 'config-reload' && l.outcome === outcome);

describe('ingress.trustedNetworks and ingress.relayDomains, reloaded from the file', () => {
  it('relays for 127.0.0.1 once the file trusts 127.0.0.0/8, keeps that through a bad file, and refuses again when it is taken out', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-config-reload-'));
    const file = join(dir, 'petrel.yaml');
    const prefix = uniquePrefix('reload');
    writeConfig(file, config(prefix, {}));
    const { port, lines, registry } = await start(file);

    const early = await openTransaction(port);
    expect(await rcpt(early, 'b@elsewhere.test')).toBe(RELAY_DENIED);
    expect(await rcpt(early, 'b@relay.test')).toBe(RCPT_OK);
    expect(await rcpt(early, 'b@other-relay.test')).toBe(RELAY_DENIED);
    // No ingress.tls: no expiry gauge at all.
    expect(await registry.metrics()).not.toContain('petrel_ingress_certificate_expiry');

    // The file changes (no signal): the next RCPT, in a session opened before, is relayed.
    writeConfig(
      file,
      config(prefix, {
        trustedNetworks: ['10.0.0.0/8', '127.0.0.0/8'],
        relayDomains: ['relay.test', 'other-relay.test'],
      }),
    );
    const applied = await eventually(() => reloads(lines(), 'applied')[0], 'the reload applied');
    expect(applied).toMatchObject({
      level: 'info',
      msg: 'configuration reloaded',
      trigger: 'file',
      applied: ['ingress.trustedNetworks', 'ingress.relayDomains'],
      restart: [],
    });
    expect(await rcpt(early, 'c@elsewhere.test')).toBe(RCPT_OK);
    const later = await openTransaction(port);
    expect(await rcpt(later, 'c@elsewhere.test')).toBe(RCPT_OK);
    later.close();

    // A bad file: refused, naming the key; the networks in force stay.
    writeConfig(file, config(prefix, { trustedNetworks: ['not-a-cidr'] }));
    const refused = await eventually(() => reloads(lines(), 'refused')[0], 'the refusal logged');
    expect(refused).toMatchObject({
      level: 'error',
      msg: 'configuration reload refused; the configuration in force stays',
      trigger: 'file',
      key: 'ingress.trustedNetworks[0]',
    });
    expect(refused.problem).toMatch(/^ingress\.trustedNetworks\[0\]: expected a network/);
    expect(reloads(lines(), 'refused')).toHaveLength(1);
    expect(await rcpt(early, 'd@elsewhere.test')).toBe(RCPT_OK);
    expect(await rcpt(early, 'd@other-relay.test')).toBe(RCPT_OK);

    // 127.0.0.0/8 taken out again, and a key that needs a restart changed with it.
    writeConfig(file, config(prefix, { maxErrors: 5 }));
    await eventually(() => reloads(lines(), 'applied')[1], 'the third file applied');
    expect(reloads(lines(), 'applied')[1]).toMatchObject({
      applied: ['ingress.trustedNetworks', 'ingress.relayDomains'],
      restart: ['ingress.maxErrors'],
    });
    expect(reloads(lines(), 'needs-restart')).toMatchObject([
      { level: 'warn', key: 'ingress.maxErrors' },
    ]);
    expect(await rcpt(early, 'e@elsewhere.test')).toBe(RELAY_DENIED);
    expect(await rcpt(early, 'e@other-relay.test')).toBe(RELAY_DENIED);
    expect(await rcpt(early, 'e@relay.test')).toBe(RCPT_OK);
    early.close();
  });
});

describe('ingress.tls, reloaded from the file', () => {
  it('offers the certificate the file names next, refuses a certificate with the wrong key, and stops offering STARTTLS without ingress.tls', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-config-reload-tls-'));
    const file = join(dir, 'petrel.yaml');
    const prefix = uniquePrefix('reload-tls');
    const first = await certificate(dir, 'first', 2);
    const second = await certificate(dir, 'second', 30);
    const third = await certificate(dir, 'third', 60);
    expect(second.notAfter).toBeGreaterThan(first.notAfter);
    writeConfig(file, config(prefix, { tls: { cert: first.cert, key: first.key } }));
    const { port, lines, registry } = await start(file);
    expect(await offeredFingerprint(port)).toBe(first.fingerprint);
    expect(expiryGauge(await registry.metrics())).toBe(first.notAfter);

    writeConfig(file, config(prefix, { tls: { cert: second.cert, key: second.key } }));
    await eventually(() => reloads(lines(), 'applied')[0], 'the reload applied');
    expect(reloads(lines(), 'applied')[0]!.applied).toEqual([
      'ingress.tls.cert',
      'ingress.tls.key',
    ]);
    expect(await offeredFingerprint(port)).toBe(second.fingerprint);
    expect(expiryGauge(await registry.metrics())).toBe(second.notAfter);

    // A certificate with another certificate's key: refused; the second stays.
    writeConfig(file, config(prefix, { tls: { cert: third.cert, key: second.key } }));
    const refused = await eventually(() => reloads(lines(), 'refused')[0], 'the refusal logged');
    expect(refused).toMatchObject({ level: 'error', key: 'ingress.tls' });
    expect(refused.problem).toMatch(/^ingress\.tls: cannot load the certificate and key /);
    expect(await offeredFingerprint(port)).toBe(second.fingerprint);
    expect(expiryGauge(await registry.metrics())).toBe(second.notAfter);

    writeConfig(file, config(prefix, { tls: null }));
    await eventually(() => reloads(lines(), 'applied')[1], 'TLS turned off');
    expect(reloads(lines(), 'applied')[1]!.applied).toEqual(['ingress.tls']);
    expect(await offeredFingerprint(port)).toBe('no STARTTLS');
    expect(expiryGauge(await registry.metrics())).toBeNull();
    expect(await registry.metrics()).not.toContain('petrel_ingress_certificate_expiry');
  });
});

describe('ingress.auth.usersFile, reloaded from the file', () => {
  async function auth(port: number, user: string, password: string): Promise<string> {
    const smtp = await RawSmtp.open(port);
    try {
      await smtp.reply();
      await smtp.command('EHLO client.test');
      const token = Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64');
      return await smtp.command(`AUTH PLAIN ${token}`);
    } finally {
      smtp.close();
    }
  }
  const OK = '235 2.7.0 Authentication successful';
  const INVALID = '535 5.7.8 Authentication credentials invalid';

  it('reads the users file the file names next, refuses one that does not load, and watches the new one', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-config-reload-auth-'));
    const file = join(dir, 'petrel.yaml');
    const prefix = uniquePrefix('reload-auth');
    const alice = join(dir, 'alice.users');
    const bob = join(dir, 'bob.users');
    const broken = join(dir, 'broken.users');
    writeFileSync(alice, await usersFileText({ alice: 'secret' }));
    writeFileSync(bob, await usersFileText({ bob: 'hunter2' }));
    writeFileSync(broken, 'carol has no colon\n');
    const listeners = [{ host: '127.0.0.1', port: 0, allowPlaintextAuth: true }];
    writeConfig(file, config(prefix, { listeners, auth: { usersFile: alice } }));
    const { port, lines } = await start(file);
    expect(await auth(port, 'alice', 'secret')).toBe(OK);
    expect(await auth(port, 'bob', 'hunter2')).toBe(INVALID);

    writeConfig(file, config(prefix, { listeners, auth: { usersFile: bob } }));
    await eventually(() => reloads(lines(), 'applied')[0], 'the reload applied');
    expect(reloads(lines(), 'applied')[0]!.applied).toEqual(['ingress.auth.usersFile']);
    expect(await auth(port, 'bob', 'hunter2')).toBe(OK);
    expect(await auth(port, 'alice', 'secret')).toBe(INVALID);

    writeConfig(file, config(prefix, { listeners, auth: { usersFile: broken } }));
    const refused = await eventually(() => reloads(lines(), 'refused')[0], 'the refusal logged');
    expect(refused).toMatchObject({ level: 'error', key: 'ingress.auth.usersFile' });
    expect(refused.problem).toMatch(/broken\.users line 1: expected username:\$scrypt\$/);
    expect(await auth(port, 'bob', 'hunter2')).toBe(OK);

    // The file in force is bob.users now: its own watch follows it.
    writeConfig(file, config(prefix, { listeners, auth: { usersFile: bob } }));
    replaceFile(bob, await usersFileText({ bob: 'hunter2', carol: 'pw' }));
    await eventually(async () => (await auth(port, 'carol', 'pw')) === OK, 'carol accepted');

    // Turning AUTH off needs a restart: a warning, and AUTH goes on.
    writeConfig(file, config(prefix, { listeners, auth: null }));
    const warning = await eventually(
      () => reloads(lines(), 'needs-restart')[0],
      'the restart warning',
    );
    expect(warning).toMatchObject({ level: 'warn', key: 'ingress.auth' });
    expect(await auth(port, 'bob', 'hunter2')).toBe(OK);
  });
});
