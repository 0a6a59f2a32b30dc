// Ingress over real sockets against a real Redis: store then answer, relay
// permission through PROXY v1/v2, Redis dying mid-transaction, STARTTLS and
// AUTH, limits, timeouts, drain and the refusal of an evicting Redis.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PetrelConfig } from '@petrel/config';
import { QUEUES } from '@petrel/queue';
import { makeCertificate, startRedis, type RedisHandle } from '@petrel/testing';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createIngress, type Ingress } from '../src/create-ingress.js';
import {
  ingressConfig,
  quietLogger as quiet,
  readJob,
  startIngress,
} from './support/ingress-harness.js';
import { hashPassword } from '../src/policy/users-file.js';
import { RawSmtp } from './support/raw-smtp.js';

const run = promisify(execFile);

let redis: RedisHandle;
let client: Redis;
const started: Ingress[] = [];

beforeAll(async () => {
  redis = await startRedis({ own: true });
  client = new Redis(redis.url);
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});
afterEach(async () => {
  for (const i of started.splice(0)) await i.stop().catch(() => undefined);
});

function config(change: (c: PetrelConfig) => void = () => undefined): PetrelConfig {
  return ingressConfig(redis.url, change);
}

async function start(c: PetrelConfig): Promise<{ ingress: Ingress; port: number }> {
  const s = await startIngress(c);
  started.push(s.ingress);
  return s;
}

const job = (c: PetrelConfig, id: string) => readJob(client, c, id);

async function transaction(
  smtp: RawSmtp,
  rcpt = 'b@relay.test',
  body = 'Subject: t\r\n\r\nhello\r\n',
): Promise<string> {
  expect(await smtp.command('MAIL FROM:<a@client.test>')).toBe('250 2.1.0 Ok');
  expect(await smtp.command(`RCPT TO:<${rcpt}>`)).toBe('250 2.1.5 Ok');
  expect(await smtp.command('DATA')).toMatch(/^354 /);
  return smtp.command(`${body}.`);
}

describe('store, then answer', () => {
  it('answers 250 with the queue id only once the body and the transaction are on the queue', async () => {
    const c = config();
    const { port, ingress } = await start(c);
    const { stdout } = await run('swaks', [
      '--server',
      `127.0.0.1:${port}`,
      '--helo',
      'client.test',
      '--from',
      'a@client.test',
      '--to',
      'someone@example.test',
      '--body',
      'from swaks',
      '--hide-informational',
    ]);
    const id = /250 2\.0\.0 Ok: queued as ([0-9A-Z]{26})/.exec(stdout)?.[1];
    expect(id).toBeDefined();
    const stored = await job(c, id!);
    expect(stored!.data).toMatchObject({
      v: 1,
      id,
      verb: 'MAIL',
      client: {
        address: '127.0.0.1',
        helo: { verb: 'EHLO', name: 'client.test' },
        tls: null,
        auth: null,
        proxied: false,
      },
      reversePath: { raw: 'a@client.test' },
      recipients: [{ forwardPath: { raw: 'someone@example.test' } }],
    });
    const body = stored!.body.toString('latin1');
    expect(body).toMatch(
      new RegExp(
        `^Received: from client\\.test \\(\\[127\\.0\\.0\\.1\\]\\)\\r\\n\\tby mx\\.petrel\\.test \\(Petrel\\) with ESMTP id ${id}\\r\\n\\tfor <someone@example\\.test>; `,
      ),
    );
    expect(body).toContain('\r\n\r\nfrom swaks\r\n');
    expect(stored!.data.size).toBe(stored!.body.length);
    const metrics = await (await fetch(`${ingress.health!.url}/metrics`)).text();
    expect(metrics).toMatch(/^petrel_ingress_messages_accepted_total 1$/m);
    expect(metrics).toMatch(/^petrel_ingress_replies_total\{verb="DATA",code="250"\} 1$/m);
  });

  it('keeps the verb and every recipient, and refuses a mail loop with 554 5.4.6', async () => {
    const c = config((x) => (x.ingress.maxReceivedHeaders = 2));
    const { port } = await start(c);
    const smtp = await RawSmtp.open(port);
    expect(await smtp.reply()).toBe('220 mx.petrel.test ESMTP');
    await smtp.command('EHLO client.test');
    expect(await smtp.command('SOML FROM:<a@client.test>')).toBe('250 2.1.0 Ok');
    for (const r of ['x@relay.test', 'y@elsewhere.test'])
      expect(await smtp.command(`RCPT TO:<${r}>`)).toBe('250 2.1.5 Ok');
    await smtp.command('DATA');
    const ok = await smtp.command('Subject: soml\r\n\r\nbody\r\n.');
    const stored = await job(c, /queued as (\S+)/.exec(ok)![1]!);
    expect(stored!.data.verb).toBe('SOML');
    expect(stored!.data.recipients.map((r) => r.forwardPath.raw)).toEqual([
      'x@relay.test',
      'y@elsewhere.test',
    ]);
    const loop =
      'Received: from a\r\nReceived: from b\r\nReceived: from c\r\nSubject: loop\r\n\r\nx\r\n';
    expect(await transaction(smtp, 'b@relay.test', loop)).toBe(
      '554 5.4.6 Too many hops: mail loop suspected',
    );
    smtp.close();
  });

  it('answers 451, never 250, when Redis dies in the middle of DATA, and stores nothing half', async () => {
    const own = await startRedis({ own: true });
    const c = config((x) => (x.redis.url = own.url));
    const { port } = await start(c);
    const smtp = await RawSmtp.open(port);
    await smtp.reply();
    await smtp.command('HELO client.test');
    await smtp.command('MAIL FROM:<a@client.test>');
    await smtp.command('RCPT TO:<b@relay.test>');
    await smtp.command('DATA');
    smtp.send('Subject: doomed\r\n\r\n');
    await own.kill!();
    const reply = await smtp.command('body\r\n.');
    expect(reply).toMatch(/^451 4\.3\.0 /);
    await own.restart!();
    const after = new Redis(own.url);
    expect(await after.keys('*body*')).toEqual([]);
    expect(await after.keys(`${c.redis.prefix}:${QUEUES.transactions}:[0-9A-Z]*`)).toEqual([]);
    after.disconnect();
    smtp.close();
    await own.stop();
  });
});

describe('relay permission on the real client address', () => {
  it('judges the PROXY v1 source, not the load balancer: strangers relay only to relay domains', async () => {
    const c = config((x) => {
      x.ingress.listeners[0]!.proxyProtocol = true;
      x.ingress.loadBalancers = ['127.0.0.1/32'];
    });
    const { port } = await start(c);
    const smtp = await RawSmtp.open(
      port,
      Buffer.from('PROXY TCP4 203.0.113.9 192.0.2.25 40000 25\r\n'),
    );
    expect(await smtp.reply()).toMatch(/^220 /);
    await smtp.command('EHLO client.test');
    await smtp.command('MAIL FROM:<a@relay.test>');
    expect(await smtp.command('RCPT TO:<victim@elsewhere.test>')).toBe(
      '554 5.7.1 Relay access denied',
    );
    expect(await smtp.command('RCPT TO:<victim%elsewhere.test@relay.test>')).toBe(
      '554 5.7.1 Relay access denied',
    );
    expect(await smtp.command('RCPT TO:<@relay.test:victim@elsewhere.test>')).toBe(
      '554 5.7.1 Relay access denied',
    );
    expect(await smtp.command('RCPT TO:<user@[192.0.2.1]>')).toBe('554 5.7.1 Relay access denied');
    expect(await smtp.command('RCPT TO:<user@relay.test>')).toBe('250 2.1.5 Ok');
    await smtp.command('DATA');
    const id = /queued as (\S+)/.exec(await smtp.command('Subject: p\r\n\r\nx\r\n.'))![1]!;
    expect((await job(c, id))!.data.client).toMatchObject({
      address: '203.0.113.9',
      port: 40000,
      proxied: true,
    });
    smtp.close();
  });

  it('reads PROXY v2, and gives a LOCAL health check no relay permission', async () => {
    const c = config((x) => {
      x.ingress.listeners[0]!.proxyProtocol = true;
      x.ingress.loadBalancers = ['127.0.0.1/32'];
    });
    const { port } = await start(c);
    const signature = Buffer.from([
      0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
    ]);
    const proxied = Buffer.concat([
      signature,
      Buffer.from([0x21, 0x11, 0x00, 12, 198, 51, 100, 7, 127, 0, 0, 1, 0x9c, 0x40, 0x00, 0x19]),
    ]);
    const v2 = await RawSmtp.open(port, proxied);
    expect(await v2.reply()).toMatch(/^220 /);
    await v2.command('HELO client.test');
    await v2.command('MAIL FROM:<a@client.test>');
    expect(await v2.command('RCPT TO:<victim@elsewhere.test>')).toBe(
      '554 5.7.1 Relay access denied',
    );
    v2.close();
    const local = await RawSmtp.open(
      port,
      Buffer.concat([signature, Buffer.from([0x20, 0x00, 0x00, 0x00])]),
    );
    expect(await local.reply()).toMatch(/^220 /);
    await local.command('HELO lb.test');
    await local.command('MAIL FROM:<a@client.test>');
    expect(await local.command('RCPT TO:<victim@elsewhere.test>')).toBe(
      '554 5.7.1 Relay access denied',
    );
    local.close();
    const garbage = await RawSmtp.open(port, Buffer.from('EHLO no-proxy-header\r\n'));
    expect(await garbage.reply()).toBe('');
    expect(await garbage.waitClosed()).toBe(true);
  });

  it('lets trusted networks relay anywhere (loopback by default)', async () => {
    const { port } = await start(config());
    const smtp = await RawSmtp.open(port);
    await smtp.reply();
    await smtp.command('HELO client.test');
    await smtp.command('MAIL FROM:<a@client.test>');
    expect(await smtp.command('RCPT TO:<anyone@elsewhere.test>')).toBe('250 2.1.5 Ok');
    smtp.close();
  });
});

describe('STARTTLS and AUTH', () => {
  let dir: string;
  let tls: { cert: string; key: string };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-ingress-tls-'));
    tls = await makeCertificate(dir);
    writeFileSync(join(dir, 'users'), `alice:${await hashPassword('secret', { ln: 10 })}\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('offers AUTH only under TLS; a stranger relays after AUTH; a wrong password is 535', async () => {
    const c = config((x) => {
      x.ingress.tls = tls;
      x.ingress.auth = { usersFile: join(dir, 'users') };
      x.ingress.trustedNetworks = [];
    });
    const { port } = await start(c);
    const plain = await RawSmtp.open(port);
    await plain.reply();
    const ehlo = await plain.command('EHLO client.test');
    expect(ehlo).toContain('250-STARTTLS');
    expect(ehlo).not.toContain('AUTH');
    expect(await plain.command('AUTH PLAIN AGFsaWNlAHNlY3JldA==')).toMatch(/^538 5\.7\.11 /);
    plain.close();

    const send = (pass: string) =>
      nodemailer
        .createTransport({
          host: '127.0.0.1',
          port,
          requireTLS: true,
          name: 'client.test',
          tls: { rejectUnauthorized: false },
          auth: { user: 'alice', pass },
        })
        .sendMail({
          envelope: { from: 'alice@client.test', to: ['anyone@elsewhere.test'] },
          raw: 'Subject: auth\r\n\r\nx\r\n',
        });
    const info = await send('secret');
    const stored = await job(c, /queued as (\S+)/.exec(info.response)![1]!);
    expect(stored!.data.client.auth).toBe('alice');
    expect(stored!.data.client.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(stored!.body.toString('latin1')).toMatch(/with ESMTPSA id/);
    await expect(send('wrong')).rejects.toThrow(/535 5\.7\.8/);
  });
});

describe('limits and timeouts', () => {
  it('limits connections per client address across the relay with 421 4.7.0', async () => {
    const { port } = await start(config((x) => (x.ingress.limits.connectionsPerClient = 2)));
    const a = await RawSmtp.open(port);
    const b = await RawSmtp.open(port);
    expect(await a.reply()).toMatch(/^220 /);
    expect(await b.reply()).toMatch(/^220 /);
    const third = await RawSmtp.open(port);
    expect(await third.reply()).toMatch(/^421 4\.7\.0 Too many connections/);
    expect(await third.waitClosed()).toBe(true);
    a.close();
    b.close();
  });

  it('says 421 4.4.2 when the client falls silent (RFC 5321 §4.5.3.2)', async () => {
    const { port } = await start(
      config((x) => (x.ingress.timeouts = { commandMs: 300, dataMs: 300 })),
    );
    const smtp = await RawSmtp.open(port);
    await smtp.reply();
    expect(await smtp.reply(3000)).toBe('421 4.4.2 Timeout exceeded, closing connection');
    expect(await smtp.waitClosed()).toBe(true);
  });

  it('refuses an over-long command line, the 101st recipient and an oversized message, and goes on', async () => {
    const { port } = await start(config((x) => (x.ingress.maxMessageSize = 1000)));
    const smtp = await RawSmtp.open(port);
    await smtp.reply();
    await smtp.command('EHLO client.test');
    expect(await smtp.command(`NOOP ${'x'.repeat(600)}`)).toBe('500 5.5.2 Line too long');
    await smtp.command('MAIL FROM:<a@client.test>');
    for (let i = 1; i <= 100; i++) smtp.send(`RCPT TO:<r${i}@relay.test>\r\n`);
    for (let i = 1; i <= 100; i++) expect(await smtp.reply()).toBe('250 2.1.5 Ok');
    expect(await smtp.command('RCPT TO:<r101@relay.test>')).toBe('452 4.5.3 Too many recipients');
    await smtp.command('DATA');
    expect(await smtp.command(`${'y'.repeat(900)}\r\n${'y'.repeat(900)}\r\n.`)).toBe(
      '552 5.3.4 Message size exceeds fixed maximum message size',
    );
    expect(await smtp.command('NOOP')).toBe('250 2.0.0 Ok');
    smtp.close();
  });
});

describe('drain and start-up', () => {
  it('on drain, an idle session gets 421 at once; a transaction in flight finishes with 250', async () => {
    const c = config();
    const { ingress, port } = await start(c);
    const idle = await RawSmtp.open(port);
    const busy = await RawSmtp.open(port);
    await idle.reply();
    await busy.reply();
    await busy.command('HELO client.test');
    await busy.command('MAIL FROM:<a@client.test>');
    await busy.command('RCPT TO:<b@relay.test>');
    const drained = ingress.drain();
    expect(await idle.reply()).toMatch(/^421 4\.3\.2 /);
    expect(await busy.command('DATA')).toMatch(/^354 /);
    expect(await busy.command('Subject: last\r\n\r\nx\r\n.')).toMatch(
      /^250 2\.0\.0 Ok: queued as /,
    );
    expect(await busy.command('MAIL FROM:<a@client.test>')).toMatch(/^421 4\.3\.2 /);
    await drained;
    expect(ingress.ready).toBe(false);
    expect((await fetch(`${ingress.health!.url}/readyz`)).status).toBe(503);
  });

  it('refuses to start against a Redis that may evict keys, naming the setting', async () => {
    const evicting = await startRedis({ own: true, maxmemoryPolicy: 'allkeys-lru' });
    const ingress = createIngress(
      config((x) => (x.redis.url = evicting.url)),
      { logger: quiet },
    );
    await expect(ingress.start()).rejects.toThrow(/maxmemory-policy/);
    await ingress.stop().catch(() => undefined);
    await evicting.stop();
  });

  it('refuses to start when the users file is missing, naming the key', async () => {
    const ingress = createIngress(
      config((x) => (x.ingress.auth = { usersFile: '/nonexistent/users' })),
      { logger: quiet },
    );
    await expect(ingress.start()).rejects.toThrow(/ingress\.auth\.usersFile/);
    await ingress.stop().catch(() => undefined);
  });
});
