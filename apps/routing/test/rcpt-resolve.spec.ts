// Ingress asking routing at RCPT time (ingress.resolve): the real ingress
// process (dist/main.js) against this routing service's Resolve API, driven by
// Python's smtplib. A domain that can never be routed is refused in the
// session with routing's reply; one that can, or one DNS cannot answer for now,
// is accepted; with routing gone, RCPT still answers 250 within the timeout.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  ensureServiceBuilt,
  freePort,
  killServices,
  spawnService,
  startDnsServer,
  startRedis,
  type RedisHandle,
  type TestDnsServer,
} from '@petrel/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRouting } from '../src/create-routing.js';
import { eventually, quietLogger, routingConfig } from './support/routing-harness.js';

const run = promisify(execFile);

let server: RedisHandle;
let dns: TestDnsServer;

beforeAll(async () => {
  await ensureServiceBuilt('ingress');
  server = await startRedis();
  dns = await startDnsServer({
    records: [
      { type: 'MX', name: 'a.test', exchange: 'mx1.hosts.test', preference: 10 },
      { type: 'MX', name: 'nullmx.test', exchange: '.', preference: 0 },
    ],
    behaviours: { 'broken.test': 'servfail' },
  });
}, 300_000);

afterEach(() => killServices());

afterAll(async () => {
  await dns?.close();
  await server?.stop();
});

/** RCPT replies ([code, text]) for each recipient, in one smtplib session. */
async function rcptReplies(port: number, recipients: string[]): Promise<[number, string][]> {
  const script = `
import json, smtplib, sys
s = smtplib.SMTP('127.0.0.1', ${port}, local_hostname='client.test', timeout=10)
s.ehlo()
s.mail('sender@a.test')
out = []
for r in json.loads(sys.argv[1]):
    code, text = s.rcpt(r)
    out.append([code, text.decode()])
s.quit()
print(json.dumps(out))
`;
  const { stdout } = await run('python3', ['-c', script, JSON.stringify(recipients)]);
  return JSON.parse(stdout) as [number, string][];
}

async function startIngress(resolveAddress: string, prefix: string): Promise<number> {
  const smtpPort = await freePort();
  const metricsPort = await freePort();
  const ingress = spawnService('ingress', {
    PETREL_REDIS__URL: server.url,
    PETREL_REDIS__PREFIX: `'${prefix}'`,
    PETREL_REDIS__DURABILITY: 'none',
    PETREL_INGRESS__HOSTNAME: 'mx.petrel.test',
    PETREL_INGRESS__LISTENERS: `[{host: 127.0.0.1, port: ${smtpPort}}]`,
    PETREL_INGRESS__RESOLVE: `{address: '${resolveAddress}', timeout: 300ms}`,
    PETREL_METRICS__PORT: String(metricsPort),
    PETREL_LOG__LEVEL: 'warn',
  });
  await eventually(async () => {
    if (ingress.child.exitCode !== null) throw new Error(ingress.stderr());
    const response = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => null);
    return response?.status === 200 ? true : undefined;
  }, 15_000);
  return smtpPort;
}

describe('RCPT-time routability', () => {
  it('refuses what routing can never route, accepts the rest, and accepts when routing is gone', async () => {
    const c = routingConfig(server.url, dns.address);
    const routing = createRouting(c, { logger: quietLogger, instance: 'test' });
    await routing.start();
    let stopped = false;
    try {
      const smtpPort = await startIngress(routing.grpc!.address, c.redis.prefix);
      expect(
        await rcptReplies(smtpPort, [
          'x@a.test',
          'x@missing.test',
          'x@nullmx.test',
          'x@broken.test',
          'postmaster',
        ]),
      ).toEqual([
        [250, '2.1.5 Ok'],
        [550, '5.1.2 <x@missing.test>: Domain missing.test does not exist (NXDOMAIN)'],
        [556, '5.1.10 <x@nullmx.test>: Domain nullmx.test accepts no mail (null MX, RFC 7505)'],
        [250, '2.1.5 Ok'],
        [250, '2.1.5 Ok'],
      ]);

      await routing.stop();
      stopped = true;
      const started = Date.now();
      expect(await rcptReplies(smtpPort, ['x@missing.test'])).toEqual([[250, '2.1.5 Ok']]);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      if (!stopped) await routing.stop();
    }
  }, 60_000);
});
