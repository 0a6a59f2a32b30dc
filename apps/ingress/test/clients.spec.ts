// Dialogs driven by independent SMTP clients against the running ingress, over
// real sockets, with Redis behind it: Python's smtplib (several messages on one
// connection, a refused recipient, SMTPUTF8), nodemailer's pool (one connection
// reused for 20 messages), and a raw pipelined dialog (RFC 2920).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { PetrelConfig } from '@petrel/config';
import { startRedis, type RedisHandle } from '@petrel/testing';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Ingress } from '../src/create-ingress.js';
import {
  ingressConfig,
  readJob,
  readJobs,
  startIngress,
  stripReceived,
  type Started,
} from './support/ingress-harness.js';
import { RawSmtp } from './support/raw-smtp.js';

const run = promisify(execFile);

let redis: RedisHandle;
let client: Redis;
const started: Ingress[] = [];

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});
afterEach(async () => {
  for (const i of started.splice(0)) await i.stop().catch(() => undefined);
});

async function start(change?: (c: PetrelConfig) => void): Promise<Started & { c: PetrelConfig }> {
  const c = ingressConfig(redis.url, change);
  const s = await startIngress(c);
  started.push(s.ingress);
  return { ...s, c };
}

/** One metric's value from /metrics (the sum over its label sets). */
async function metric(ingress: Ingress, name: string): Promise<number> {
  const text = await (await fetch(`${ingress.health!.url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm')))
    sum += Number(m[1]);
  return sum;
}

/** Runs a Python script with the port as argv[1]; it prints one JSON object. */
async function python<T>(script: string, port: number): Promise<T> {
  const { stdout } = await run('/usr/bin/python3', ['-c', script, String(port)], {
    timeout: 15_000,
  });
  return JSON.parse(stdout) as T;
}

describe("Python's smtplib", () => {
  it('sends several messages on one connection; sendmail reports the refused recipient', async () => {
    const { ingress, port, c } = await start((x) => {
      x.ingress.trustedNetworks = [];
      x.ingress.relayDomains = ['relay.test'];
    });
    const result = await python<{
      features: string[];
      refused: Record<string, [number, string]>[];
      allRefused: Record<string, [number, string]>;
      afterAllRefused: Record<string, [number, string]>;
    }>(
      `
import json, smtplib, sys
out = {}
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='client.test', timeout=10) as s:
    s.ehlo()
    out['features'] = sorted(s.esmtp_features)
    out['refused'] = []
    for i in range(3):
        refused = s.sendmail('a@client.test', ['r%d@relay.test' % i, 'victim@elsewhere.test'],
                             'Subject: python %d\\r\\n\\r\\nmessage %d\\r\\n' % (i, i))
        out['refused'].append({k: [v[0], v[1].decode()] for k, v in refused.items()})
    try:
        s.sendmail('a@client.test', ['victim@elsewhere.test'], 'Subject: nobody\\r\\n\\r\\nx\\r\\n')
    except smtplib.SMTPRecipientsRefused as e:
        out['allRefused'] = {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}
    out['afterAllRefused'] = s.sendmail('a@client.test', ['last@relay.test'], 'Subject: python last\\r\\n\\r\\nx\\r\\n')
print(json.dumps(out))
`,
      port,
    );
    expect(result.features).toEqual(
      expect.arrayContaining(['pipelining', 'size', '8bitmime', 'smtputf8', 'enhancedstatuscodes']),
    );
    const denied = { 'victim@elsewhere.test': [554, '5.7.1 Relay access denied'] };
    expect(result.refused).toEqual([denied, denied, denied]);
    expect(result.allRefused).toEqual(denied);
    expect(result.afterAllRefused).toEqual({});

    const jobs = await readJobs(client, c);
    const bySubject = new Map(
      jobs.map((j) => [/Subject: ([^\r]*)/.exec(j.body.toString('latin1'))![1], j.data]),
    );
    expect([...bySubject.keys()].sort()).toEqual([
      'python 0',
      'python 1',
      'python 2',
      'python last',
    ]);
    for (let i = 0; i < 3; i++)
      expect(bySubject.get(`python ${i}`)!.recipients.map((r) => r.forwardPath.raw)).toEqual([
        `r${i}@relay.test`,
      ]);
    expect(await metric(ingress, 'petrel_ingress_sessions_total')).toBe(1);
    expect(await metric(ingress, 'petrel_ingress_messages_accepted_total')).toBe(4);
  });

  it('sends an internationalised message with SMTPUTF8', async () => {
    const { port, c } = await start();
    const result = await python<{ code: number; reply: string }>(
      `
import json, smtplib, sys
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='client.test', timeout=10) as s:
    s.ehlo()
    s.mail('δοκιμή@παράδειγμα.δοκιμή', ['SMTPUTF8', 'BODY=8BITMIME'])
    s.rcpt('用户@例子.测试')
    code, reply = s.data('Subject: Καλημέρα\\r\\n\\r\\nΓειά σου κόσμε\\r\\n'.encode('utf-8'))
print(json.dumps({'code': code, 'reply': reply.decode()}))
`,
      port,
    );
    expect(result.code).toBe(250);
    const id = /queued as (\S+)/.exec(result.reply)![1]!;
    const job = (await readJob(client, c, id))!;
    expect(job.data.reversePath.raw).toBe('δοκιμή@παράδειγμα.δοκιμή');
    expect(job.data.recipients.map((r) => r.forwardPath.raw)).toEqual(['用户@例子.测试']);
    expect(job.data.parameters).toMatchObject({ smtputf8: true, body: '8BITMIME' });
    expect(stripReceived(job.body).toString('utf8')).toBe(
      'Subject: Καλημέρα\r\n\r\nΓειά σου κόσμε\r\n',
    );
  });
});

describe('nodemailer', () => {
  it('sends 20 messages through a pool over one reused connection, all on the queue', async () => {
    const { ingress, port, c } = await start();
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      pool: true,
      maxConnections: 1,
      maxMessages: 100,
      name: 'client.test',
      ignoreTLS: true,
    });
    try {
      const infos = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          transport.sendMail({
            envelope: { from: 'a@client.test', to: [`r${i}@relay.test`] },
            raw: `Subject: pooled ${i}\r\n\r\nmessage ${i}\r\n`,
          }),
        ),
      );
      const ids = infos.map((info) => /250 2\.0\.0 Ok: queued as (\S+)/.exec(info.response)![1]!);
      expect(new Set(ids).size).toBe(20);
      for (const [i, id] of ids.entries()) {
        const job = (await readJob(client, c, id))!;
        expect(job.data.recipients.map((r) => r.forwardPath.raw)).toEqual([`r${i}@relay.test`]);
        expect(stripReceived(job.body).toString('latin1')).toBe(
          `Subject: pooled ${i}\r\n\r\nmessage ${i}\r\n`,
        );
      }
      expect((await readJobs(client, c)).length).toBe(20);
      expect(await metric(ingress, 'petrel_ingress_sessions_total')).toBe(1);
    } finally {
      transport.close();
    }
  });
});

describe('a pipelined raw dialog (RFC 2920)', () => {
  it('answers MAIL/RCPT/RCPT/DATA sent in one write, then body and QUIT in one write, in order', async () => {
    const { port, c } = await start();
    const smtp = await RawSmtp.open(port);
    expect(await smtp.reply()).toBe('220 mx.petrel.test ESMTP');
    expect(await smtp.command('EHLO client.test')).toContain('250-PIPELINING');
    smtp.send(
      'MAIL FROM:<a@client.test>\r\nRCPT TO:<b@relay.test>\r\nRCPT TO:<c@elsewhere.test>\r\nDATA\r\n',
    );
    expect(await smtp.reply()).toBe('250 2.1.0 Ok');
    expect(await smtp.reply()).toBe('250 2.1.5 Ok');
    expect(await smtp.reply()).toBe('250 2.1.5 Ok');
    expect(await smtp.reply()).toMatch(/^354 /);
    smtp.send('Subject: pipelined\r\n\r\n..dot-stuffed\r\nbody\r\n.\r\nQUIT\r\n');
    const queued = await smtp.reply();
    expect(queued).toMatch(/^250 2\.0\.0 Ok: queued as \S+$/);
    expect(await smtp.reply()).toBe('221 2.0.0 mx.petrel.test Bye');
    expect(await smtp.waitClosed()).toBe(true);

    const job = (await readJob(client, c, /queued as (\S+)/.exec(queued)![1]!))!;
    expect(job.data.recipients.map((r) => r.forwardPath.raw)).toEqual([
      'b@relay.test',
      'c@elsewhere.test',
    ]);
    expect(stripReceived(job.body).toString('latin1')).toBe(
      'Subject: pipelined\r\n\r\n.dot-stuffed\r\nbody\r\n',
    );
  });
});
