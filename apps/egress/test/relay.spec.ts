// The whole relay as processes (ingress, routing and egress from their dist),
// one Redis, and two next hops: a message for three recipients in three
// domains, two of which route to the same host, arrives as one DATA per
// destination host carrying all its recipients, with ingress's Received
// header on top of the client's bytes, which are intact.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  ensureBuilt,
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
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
let server: RedisHandle;
const sinks: TestSink[] = [];

beforeAll(async () => {
  for (const service of ['ingress', 'routing', 'egress'])
    await ensureBuilt(`@petrel/${service}`, [
      `apps/${service}`,
      'libs/config',
      'libs/dns',
      'libs/dsn',
      'libs/observability',
      'libs/proto',
      'libs/queue',
      'libs/service',
      'libs/smtp',
    ]);
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

describe('the whole relay', () => {
  it('delivers one copy per destination host, with the Received header on top of intact bytes', async () => {
    const hostA = await startTestSink();
    const hostC = await startTestSink({ host: '127.0.0.2' });
    sinks.push(hostA, hostC);
    const smtpPort = await freePort();
    const deadDns = await freePort(); // nothing answers: no query may leave the machine
    const common = {
      PETREL_REDIS__URL: server.url,
      PETREL_REDIS__PREFIX: `'${uniquePrefix('relay')}'`,
      PETREL_REDIS__DURABILITY: 'none',
      PETREL_INGRESS__HOSTNAME: 'relay.petrel.test',
      PETREL_INGRESS__LISTENERS: `[{host: 127.0.0.1, port: ${smtpPort}}]`,
      PETREL_ROUTING__TRANSPORTS:
        `{a.test: 'smtp:[127.0.0.1]:${hostA.port}', b.test: 'smtp:[127.0.0.1]:${hostA.port}', ` +
        `c.test: 'smtp:[127.0.0.2]:${hostC.port}'}`,
      PETREL_ROUTING__DNS: `{servers: ['127.0.0.1:${deadDns}'], timeout: 200ms}`,
      PETREL_ROUTING__GRPC__PORT: '0',
      PETREL_EGRESS__TLS: 'none',
      PETREL_METRICS__PORT: '0',
      PETREL_LOG__LEVEL: 'warn',
    };
    const services = ['routing', 'egress', 'ingress'].map((name) => spawnService(name, common));
    await eventually(async () => {
      for (const s of services) if (s.child.exitCode !== null) throw new Error(s.stderr());
      const script = `import socket; socket.create_connection(('127.0.0.1', ${smtpPort}), 1).close()`;
      await run('python3', ['-c', script]);
      return true;
    }, 20_000);

    const send = `
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', ${smtpPort}, local_hostname='client.test', timeout=10)
s.sendmail('sender@client.test', ['x@a.test', 'y@b.test', 'z@c.test'], sys.stdin.buffer.read())
s.quit()
`;
    const child = execFile('python3', ['-c', send]);
    child.stdin!.end(MESSAGE);
    await new Promise((resolve, reject) =>
      child.once('exit', (code) =>
        code === 0 ? resolve(code) : reject(new Error(`exit ${code}`)),
      ),
    );

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
  }, 90_000);
});
