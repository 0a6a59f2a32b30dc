// The configuration reloaded in the ingress process as an operator runs it
// (`node apps/ingress/dist/main.js`, PETREL_CONFIG naming a YAML file): a change
// of the file relays for a newly trusted network without a signal; SIGHUP
// reads the certificate replaced in place again (and does not end the
// process); a bad file is refused with a log line naming the key, on a file
// change and on SIGHUP alike, and the relay policy in force stays.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureServiceBuilt,
  freePort,
  killServices,
  spawnService,
  startRedis,
  uniquePrefix,
  type RedisHandle,
  type ServiceProcess,
  logLines,
  replaceFile,
  writeConfig,
} from '@petrel/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/ingress-harness.js';
import {
  certificate,
  expiryGauge,
  offeredFingerprint,
  openTransaction,
  rcpt,
} from './support/reload-support.js';

let redis: RedisHandle;
let dir: string | undefined;

beforeAll(async () => {
  await ensureServiceBuilt('ingress');
  redis = await startRedis();
}, 300_000);

afterAll(async () => {
  await redis?.stop();
});

afterEach(() => {
  killServices();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const reloads = (p: ServiceProcess, outcome: string, trigger: string) =>
  logLines(p.stdout()).filter(
    (l) => l.event === 'config-reload' && l.outcome === outcome && l.trigger === trigger,
  );

async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

describe('the ingress process reloads its configuration', () => {
  it('on a file change and on SIGHUP; a bad file is refused naming the key, the policy in force stays', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-reload-process-'));
    const file = join(dir, 'petrel.yaml');
    const smtpPort = await freePort();
    const metricsPort = await freePort();
    const first = await certificate(dir, 'first', 2);
    const second = await certificate(dir, 'second', 30);
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    replaceFile(cert, readFileSync(first.cert, 'utf8'));
    replaceFile(key, readFileSync(first.key, 'utf8'));
    const prefix = uniquePrefix('reload-process');
    const config = (trustedNetworks: string[]) => ({
      redis: { url: redis.url, prefix, durabilityTimeout: '500ms' },
      ingress: {
        hostname: 'mx.petrel.test',
        listeners: [{ host: '127.0.0.1', port: smtpPort }],
        trustedNetworks,
        relayDomains: ['relay.test'],
        tls: { cert, key },
        drainTimeout: '2s',
      },
      metrics: { port: metricsPort },
    });
    writeConfig(file, config(['10.0.0.0/8']));
    const ingress = spawnService('ingress', { PETREL_CONFIG: file });
    await eventually(
      async () => {
        if (ingress.child.exitCode !== null)
          throw new Error(`ingress exited ${ingress.child.exitCode}: ${ingress.stderr()}`);
        return logLines(ingress.stdout()).some((l) => l.msg === 'ingress ready');
      },
      'ingress ready',
      15_000,
    );

    // 127.0.0.1 is not trusted: relaying is refused.
    const session = await openTransaction(smtpPort);
    expect(await rcpt(session, 'someone@elsewhere.test')).toBe('554 5.7.1 Relay access denied');
    expect(await offeredFingerprint(smtpPort)).toBe(first.fingerprint);
    expect(expiryGauge(await metrics(metricsPort))).toBe(first.notAfter);

    // The file changes, no signal: the same RCPT is accepted.
    writeConfig(file, config(['10.0.0.0/8', '127.0.0.0/8']));
    await eventually(() => reloads(ingress, 'applied', 'file').length === 1, 'the file reloaded');
    expect(reloads(ingress, 'applied', 'file')[0]!.applied).toEqual(['ingress.trustedNetworks']);
    expect(await rcpt(session, 'someone@elsewhere.test')).toBe('250 2.1.5 Ok');

    // The certificate replaced in place, then SIGHUP: the new one is offered,
    // the gauge follows, and the process goes on.
    replaceFile(cert, readFileSync(second.cert, 'utf8'));
    replaceFile(key, readFileSync(second.key, 'utf8'));
    ingress.child.kill('SIGHUP');
    await eventually(() => reloads(ingress, 'applied', 'signal').length === 1, 'SIGHUP reloaded');
    expect(reloads(ingress, 'applied', 'signal')[0]!.applied).toEqual([]);
    // The reload itself read the certificate (whatever the certificate's own watch did).
    const lines = logLines(ingress.stdout());
    const signalled = lines.findIndex((l) => l.event === 'config-reload' && l.trigger === 'signal');
    expect(lines[signalled - 1]!.msg).toBe('TLS certificate loaded');
    await eventually(
      async () => (await offeredFingerprint(smtpPort)) === second.fingerprint,
      'the second certificate offered',
    );
    expect(expiryGauge(await metrics(metricsPort))).toBe(second.notAfter);
    expect(ingress.child.exitCode).toBeNull();

    // A bad file: an error line naming the key; the policy in force stays.
    writeConfig(file, config(['not-a-cidr']));
    const refused = await eventually(
      () => reloads(ingress, 'refused', 'file')[0],
      'the bad file refused',
    );
    expect(refused).toMatchObject({
      level: 'error',
      msg: 'configuration reload refused; the configuration in force stays',
      key: 'ingress.trustedNetworks[0]',
    });
    expect(await rcpt(session, 'other@elsewhere.test')).toBe('250 2.1.5 Ok');

    // SIGHUP with the bad file still there: refused again, the process goes on.
    ingress.child.kill('SIGHUP');
    await eventually(
      () => reloads(ingress, 'refused', 'signal').length === 1,
      'the bad file refused on SIGHUP',
    );
    expect(reloads(ingress, 'refused', 'signal')[0]!.key).toBe('ingress.trustedNetworks[0]');
    expect(await rcpt(session, 'third@elsewhere.test')).toBe('250 2.1.5 Ok');
    session.close();

    ingress.child.kill('SIGTERM');
    expect(await ingress.exited).toEqual({ code: 0, signal: null });
    expect(ingress.stderr()).toBe('');
  }, 60_000);
});
