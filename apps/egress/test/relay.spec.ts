// The whole relay as processes (ingress, routing and egress from their dist),
// one Redis, and two next hops: a message for three recipients in three
// domains, two of which route to the same host, arrives as one DATA per
// destination host carrying all its recipients, with ingress's Received
// header on top of the client's bytes, which are intact.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  ensureServiceBuilt,
  eventually,
  freePort,
  killServices,
  spawnService,
  startRedis,
  startTestSink,
  uniquePrefix,
  type RedisHandle,
  type TestSink,
} from '@petrel/testing';
import { readEvents } from '@petrel/queue';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
let server: RedisHandle;
const sinks: TestSink[] = [];

beforeAll(async () => {
  for (const service of ['ingress', 'routing', 'egress']) await ensureServiceBuilt(service);
  server = await startRedis();
}, 300_000);

afterEach(async () => {
  killServices();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await server?.stop();
});

const MESSAGE =
  'From: sender@client.test\r\nTo: x@a.test, y@b.test, z@c.test\r\nSubject: through the relay\r\n' +
  'Message-ID: <relay-1@client.test>\r\n\r\nFirst line.\r\n.A line that starts with a dot\r\nLast line.\r\n';

/** Starts routing, egress and ingress with these variables; resolves once ingress accepts connections. */
async function startRelay(env: Record<string, string>, smtpPort: number): Promise<void> {
  const services = ['routing', 'egress', 'ingress'].map((name) => spawnService(name, env));
  await eventually(async () => {
    for (const s of services) if (s.child.exitCode !== null) throw new Error(s.stderr());
    const probe = `import socket; socket.create_connection(('127.0.0.1', ${smtpPort}), 1).close()`;
    await run('python3', ['-c', probe]);
    return true;
  }, 20_000);
}

/** Sends MESSAGE with Python's smtplib. */
async function sendMessage(smtpPort: number, recipients: string[]): Promise<void> {
  const send = `
import json, smtplib, sys
s = smtplib.SMTP('127.0.0.1', ${smtpPort}, local_hostname='client.test', timeout=10)
s.sendmail('sender@client.test', json.loads(sys.argv[1]), sys.stdin.buffer.read())
s.quit()
`;
  const child = execFile('python3', ['-c', send, JSON.stringify(recipients)]);
  child.stdin!.end(MESSAGE);
  await new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`exit ${code}`)))),
  );
}

describe('the whole relay', () => {
  it('delivers one copy per destination host, with the Received header on top of intact bytes', async () => {
    const hostA = await startTestSink();
    const hostC = await startTestSink({ host: '127.0.0.2' });
    sinks.push(hostA, hostC);
    const smtpPort = await freePort();
    const deadDns = await freePort(); // nothing answers: no query may leave the machine
    const prefix = uniquePrefix('relay');
    const common = {
      PETREL_REDIS__URL: server.url,
      PETREL_REDIS__PREFIX: `'${prefix}'`,
      PETREL_REDIS__DURABILITY: 'none',
      PETREL_INGRESS__HOSTNAME: 'relay.petrel.test',
      PETREL_INGRESS__LISTENERS: `[{host: 127.0.0.1, port: ${smtpPort}}]`,
      PETREL_ROUTING__TRANSPORTS:
        `{a.test: 'smtp:[127.0.0.1]:${hostA.port}', b.test: 'smtp:[127.0.0.1]:${hostA.port}', ` +
        `c.test: 'smtp:[127.0.0.2]:${hostC.port}'}`,
      PETREL_ROUTING__DNS: `{servers: ['127.0.0.1:${deadDns}'], timeout: 200ms}`,
      PETREL_ROUTING__GRPC__PORT: '0',
      PETREL_ADMIN__PORT: '0',
      PETREL_EGRESS__TLS: 'none',
      PETREL_METRICS__PORT: '0',
      PETREL_LOG__LEVEL: 'warn',
    };
    await startRelay(common, smtpPort);
    await sendMessage(smtpPort, ['x@a.test', 'y@b.test', 'z@c.test']);

    const [atA] = await hostA.waitForMessages(1, 20_000);
    const [atC] = await hostC.waitForMessages(1, 20_000);
    expect(atA!.rcptTo).toEqual(['x@a.test', 'y@b.test']);
    expect(atC!.rcptTo).toEqual(['z@c.test']);
    for (const message of [atA!, atC!]) {
      expect(message.mailFrom).toBe('sender@client.test');
      const text = message.body.toString('latin1');
      expect(text).toMatch(/^Received: from client\.test \(/);
      expect(text).toMatch(/\r\n\tby relay\.petrel\.test \(Petrel\) with ESMTP id [0-9A-Z]{26}/);
      expect(text.endsWith(MESSAGE)).toBe(true);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([hostA.messages.length, hostC.messages.length]).toEqual([1, 1]);

    // The message's history, as relayctl trace will read it.
    const id = /with ESMTP id ([0-9A-Z]{26})/.exec(atA!.body.toString('latin1'))![1]!;
    const redis = new Redis(server.url);
    try {
      const events = await eventually(async () => {
        const found = await readEvents(redis, prefix, id);
        return found.length === 6 ? found : undefined;
      });
      expect(events.map((e) => [e.event, e.service])).toEqual([
        ['received', 'ingress'],
        ['routed', 'routing'],
        ['attempt', 'egress'],
        ['delivered', 'egress'],
        ['attempt', 'egress'],
        ['delivered', 'egress'],
      ]);
      expect(events[0]).toMatchObject({
        from: 'sender@client.test',
        to: ['x@a.test', 'y@b.test', 'z@c.test'],
      });
      expect((events[1]!['deliveries'] as unknown[]).length).toBe(2);
      const delivered = events
        .filter((e) => e.event === 'attempt')
        .flatMap((e) => e['recipients'] as { to: string; state: string }[]);
      expect(delivered.map((r) => [r.to, r.state]).sort()).toEqual([
        ['x@a.test', 'delivered'],
        ['y@b.test', 'delivered'],
        ['z@c.test', 'delivered'],
      ]);
    } finally {
      redis.disconnect();
    }
  }, 90_000);

  it('bounces what expires: the DSN reaches the next hop of the sender and parses as a multipart/report', async () => {
    const hostA = await startTestSink({
      faults: [{ stage: 'rcpt', match: 'later', action: { reply: 451, text: 'mailbox busy' } }],
    });
    const senders = await startTestSink({ host: '127.0.0.2' });
    sinks.push(hostA, senders);
    const smtpPort = await freePort();
    const deadDns = await freePort();
    const env = {
      PETREL_REDIS__URL: server.url,
      PETREL_REDIS__PREFIX: `'${uniquePrefix('expiry')}'`,
      PETREL_REDIS__DURABILITY: 'none',
      PETREL_INGRESS__HOSTNAME: 'relay.petrel.test',
      PETREL_INGRESS__LISTENERS: `[{host: 127.0.0.1, port: ${smtpPort}}]`,
      PETREL_ROUTING__TRANSPORTS: `{a.test: 'smtp:[127.0.0.1]:${hostA.port}', client.test: 'smtp:[127.0.0.2]:${senders.port}'}`,
      PETREL_ROUTING__DNS: `{servers: ['127.0.0.1:${deadDns}'], timeout: 200ms}`,
      PETREL_ROUTING__GRPC__PORT: '0',
      PETREL_ADMIN__PORT: '0',
      PETREL_EGRESS__TLS: 'none',
      PETREL_EGRESS__RETRY: '{schedule: [300ms], maxLifetime: 2s}',
      PETREL_METRICS__PORT: '0',
      PETREL_LOG__LEVEL: 'warn',
    };
    await startRelay(env, smtpPort);
    await sendMessage(smtpPort, ['later@a.test']);

    const [dsn] = await senders.waitForMessages(1, 30_000);
    expect(dsn!.mailFrom).toBe('');
    expect(dsn!.rcptTo).toEqual(['sender@client.test']);
    const parse = `
import email, email.policy, json, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
parts = [p.get_content_type() for p in m.walk()]
status = [p for p in m.walk() if p.get_content_type() == 'message/delivery-status'][0]
blocks = [dict(b.items()) for b in status.get_payload()]
print(json.dumps({'type': m.get_content_type(), 'report': m.get_param('report-type'), 'parts': parts, 'blocks': blocks}))
`;
    const parser = execFile('python3', ['-c', parse]);
    let out = '';
    parser.stdout!.on('data', (d: string) => (out += d));
    parser.stdin!.end(dsn!.body);
    await new Promise((resolve) => parser.once('exit', resolve));
    const report = JSON.parse(out) as {
      type: string;
      report: string;
      parts: string[];
      blocks: Record<string, string>[];
    };
    expect(report.type).toBe('multipart/report');
    expect(report.report).toBe('delivery-status');
    expect(report.parts).toContain('text/rfc822-headers');
    const recipient = report.blocks.find((b) => 'Final-Recipient' in b)!;
    expect(recipient['Final-Recipient']).toBe('rfc822; later@a.test');
    expect(recipient['Action']).toBe('failed');
    expect(recipient['Status']).toMatch(/^4\.\d+\.\d+$/);
    expect(recipient['Diagnostic-Code']).toMatch(/^smtp; 451 .*mailbox busy/);
    expect(hostA.messages).toHaveLength(0);
  }, 90_000);
});
