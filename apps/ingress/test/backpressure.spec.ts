// Backpressure and abuse limits over real sockets: Redis unreachable for a new
// session (421), the queue above its watermark (452 4.3.1), the message rate
// and AUTH failures per client address (421 4.7.0), and the warning when PROXY
// is off and every session comes from one address.
import { Writable } from 'node:stream';
import type { PetrelConfig } from '@petrel/config';
import { createLogger } from '@petrel/observability';
import { startRedis, type RedisHandle } from '@petrel/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createIngress, type Ingress } from '../src/create-ingress.js';
import { ingressConfig } from './support/ingress-harness.js';
import { RawSmtp } from './support/raw-smtp.js';

let redis: RedisHandle;
const started: Ingress[] = [];
const logLines: string[] = [];
const logger = createLogger({
  service: 'ingress-test',
  level: 'warn',
  destination: new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
});

beforeAll(async () => {
  redis = await startRedis({ own: true });
});
afterAll(() => redis.stop());
afterEach(async () => {
  for (const i of started.splice(0)) await i.stop().catch(() => undefined);
});

function config(change: (c: PetrelConfig) => void = () => undefined): PetrelConfig {
  return ingressConfig(redis.url, (c) => {
    c.redis.commandTimeoutMs = 300;
    c.redis.durabilityTimeoutMs = 300;
    c.ingress.listeners[0]!.allowPlaintextAuth = true;
    c.ingress.drainTimeoutMs = 1000;
    change(c);
  });
}

async function start(c: PetrelConfig): Promise<{ ingress: Ingress; port: number }> {
  const ingress = createIngress(c, { logger, instance: 'test' });
  started.push(ingress);
  await ingress.start();
  return { ingress, port: ingress.listeners[0]!.port };
}

async function greeted(port: number): Promise<RawSmtp> {
  const smtp = await RawSmtp.open(port);
  expect(await smtp.reply()).toMatch(/^220 /);
  await smtp.command('EHLO client.test');
  return smtp;
}

async function send(smtp: RawSmtp): Promise<string> {
  const mail = await smtp.command('MAIL FROM:<a@client.test>');
  if (!mail.startsWith('250')) return mail;
  await smtp.command('RCPT TO:<b@example.test>');
  await smtp.command('DATA');
  return smtp.command('Subject: x\r\n\r\nx\r\n.');
}

describe('backpressure', () => {
  it('answers 421 to a new session while Redis is unreachable, and greets again once it is back', async () => {
    const own = await startRedis({ own: true });
    const { port } = await start(config((c) => (c.redis.url = own.url)));
    await own.kill!();
    const refused = await RawSmtp.open(port);
    expect(await refused.reply()).toMatch(/^421 4\.3\.0 /);
    expect(await refused.waitClosed()).toBe(true);
    await own.restart!();
    let reply = '';
    for (let i = 0; i < 50 && !reply.startsWith('220'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const again = await RawSmtp.open(port);
      reply = await again.reply();
      again.close();
    }
    expect(reply).toMatch(/^220 /);
    await own.stop();
  });

  it('defers MAIL with 452 4.3.1 while the queue is above its high watermark', async () => {
    const { port } = await start(config((c) => (c.ingress.queue.highWatermark = 2)));
    const smtp = await greeted(port);
    expect(await send(smtp)).toMatch(/^250 2\.0\.0 Ok: queued as /);
    expect(await send(smtp)).toMatch(/^250 2\.0\.0 Ok: queued as /);
    // The depth is cached for a second.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await smtp.command('MAIL FROM:<a@client.test>')).toBe(
      '452 4.3.1 Insufficient system storage, try again later',
    );
    smtp.close();
  });
});

describe('abuse limits per client address', () => {
  it('ends the session with 421 4.7.0 past the message rate', async () => {
    const { port } = await start(config((c) => (c.ingress.limits.messagesPerClientPerMinute = 2)));
    const smtp = await greeted(port);
    expect(await send(smtp)).toMatch(/^250 /);
    expect(await send(smtp)).toMatch(/^250 /);
    expect(await smtp.command('MAIL FROM:<a@client.test>')).toMatch(
      /^421 4\.7\.0 Too many messages from 127\.0\.0\.1/,
    );
    expect(await smtp.waitClosed()).toBe(true);
  });

  it('counts AUTH failures and cuts the client off past the limit', async () => {
    const { port } = await start(
      config((c) => {
        c.ingress.auth = { usersFile: '/dev/null' };
        c.ingress.limits.authFailuresPerClientPerHour = 2;
      }),
    );
    const smtp = await greeted(port);
    expect(await smtp.command('AUTH PLAIN AGFsaWNlAHdyb25n')).toBe(
      '535 5.7.8 Authentication credentials invalid',
    );
    expect(await smtp.command('AUTH PLAIN AGFsaWNlAHdyb25n')).toMatch(
      /^421 4\.7\.0 Too many authentication failures/,
    );
    expect(await smtp.waitClosed()).toBe(true);
    const again = await greeted(port);
    expect(await again.command('AUTH PLAIN AGFsaWNlAHdyb25n')).toMatch(/^421 4\.7\.0 /);
  });
});

describe('source NAT warning', () => {
  it('warns in the log and the metrics when PROXY is off and 100 sessions came from one address', async () => {
    const { port, ingress } = await start(
      config((c) => (c.ingress.limits.connectionsPerClient = 0)),
    );
    for (let i = 0; i < 100; i++) {
      const smtp = await RawSmtp.open(port);
      await smtp.reply();
      smtp.close();
    }
    await new Promise((r) => setTimeout(r, 100));
    const metrics = await (await fetch(`${ingress.health!.url}/metrics`)).text();
    expect(metrics).toMatch(/^petrel_ingress_single_client_address 1$/m);
    expect(logLines.some((l) => l.includes('all came from one address and PROXY is off'))).toBe(
      true,
    );
  });
});
