// The server machine against independent SMTP clients over real sockets:
// nodemailer, Python's smtplib and swaks talk to a thin TCP host of it.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPath, type Question, type Verdict } from '../src/index.js';
import { makeCertificate } from '@petrel/testing';
import { startTestServer, type TestServer } from './support/server-host.js';

const run = promisify(execFile);

function policy(q: Question): Verdict {
  if (q.kind === 'rcpt' && q.recipient.forwardPath.mailbox?.domain === 'elsewhere.test')
    return { kind: 'reject' };
  if (q.kind === 'auth')
    return {
      kind:
        q.credentials.username === 'alice' && q.credentials.password === 'secret'
          ? 'accept'
          : 'reject',
    };
  return { kind: 'accept' };
}

describe('nodemailer against the server machine', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, policy);
  });
  afterAll(() => server.close());

  it('delivers one message to several recipients, dot-stuffed lines intact', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: server.port,
      secure: false,
      ignoreTLS: true,
      name: 'client.test',
    });
    const text = 'first line\n.starts with a dot\n..two dots\n.\nend';
    const info = await transport.sendMail({
      envelope: { from: 'a@client.test', to: ['b@example.test', 'c@example.test'] },
      raw: `Subject: interop\r\n\r\n${text.replace(/\n/g, '\r\n')}\r\n`,
    });
    transport.close();
    expect(info.accepted).toEqual(['b@example.test', 'c@example.test']);
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as Q\d+$/);
    const last = server.stored.at(-1)!;
    expect(formatPath(last.question.transaction.reversePath)).toBe('<a@client.test>');
    expect(last.question.transaction.recipients.map((r) => formatPath(r.forwardPath))).toEqual([
      '<b@example.test>',
      '<c@example.test>',
    ]);
    expect(last.body.toString('latin1')).toBe(
      `Subject: interop\r\n\r\n${text.replace(/\n/g, '\r\n')}\r\n`,
    );
  });

  it('reports the refused recipient and stores the message for the rest', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: server.port,
      ignoreTLS: true,
      name: 'client.test',
    });
    const info = await transport.sendMail({
      envelope: { from: 'a@client.test', to: ['b@example.test', 'x@elsewhere.test'] },
      raw: 'Subject: partial\r\n\r\nhi\r\n',
    });
    transport.close();
    expect(info.accepted).toEqual(['b@example.test']);
    expect(info.rejected).toEqual(['x@elsewhere.test']);
    expect(info.rejectedErrors?.[0]?.message).toMatch(/554 5\.7\.1 Relay access denied/);
  });

  it('is refused when every recipient is refused, and nothing is stored', async () => {
    const before = server.stored.length;
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: server.port,
      ignoreTLS: true,
      name: 'client.test',
    });
    await expect(
      transport.sendMail({
        envelope: { from: 'a@client.test', to: ['x@elsewhere.test'] },
        raw: 'Subject: no\r\n\r\nno\r\n',
      }),
    ).rejects.toThrow(/554 5\.7\.1/);
    transport.close();
    expect(server.stored.length).toBe(before);
  });
});

describe('STARTTLS and AUTH with nodemailer', () => {
  let server: TestServer;
  let dir: string;
  let tls: { cert: string; key: string };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-tls-'));
    tls = await makeCertificate(dir);
    server = await startTestServer(
      {
        tlsContext: {
          key: readFileSync(tls.key),
          cert: readFileSync(tls.cert),
        },
      },
      policy,
    );
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** nodemailer requiring STARTTLS (self-signed: not verified) and AUTH as alice. */
  const tlsTransport = (pass: string, authMethod?: 'PLAIN' | 'LOGIN') =>
    nodemailer.createTransport({
      host: '127.0.0.1',
      port: server.port,
      requireTLS: true,
      name: 'client.test',
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice', pass },
      ...(authMethod === undefined ? {} : { authMethod }),
    });

  it('upgrades with STARTTLS, authenticates with PLAIN and sends', async () => {
    const transport = tlsTransport('secret', 'PLAIN');
    const info = await transport.sendMail({
      envelope: { from: 'a@client.test', to: ['b@example.test'] },
      raw: 'Subject: tls\r\n\r\nsecure\r\n',
    });
    transport.close();
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as/);
    expect(server.stored.at(-1)!.body.toString()).toBe('Subject: tls\r\n\r\nsecure\r\n');
  });

  it('authenticates with LOGIN and refuses a wrong password with 535', async () => {
    const ok = tlsTransport('secret', 'LOGIN');
    await expect(ok.verify()).resolves.toBe(true);
    ok.close();
    const bad = tlsTransport('wrong');
    await expect(bad.verify()).rejects.toThrow(/535 5\.7\.8/);
    bad.close();
  });
});

describe('Python smtplib and swaks against the server machine', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, policy);
  });
  afterAll(() => server.close());

  it('smtplib: sendmail reports the refused recipient, SMTPUTF8 addresses go through', async () => {
    const script = `
import smtplib, json, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='client.test')
refused = s.sendmail('a@client.test', ['b@example.test', 'x@elsewhere.test'], b'Subject: py\\r\\n\\r\\nfrom python\\r\\n')
s.sendmail('δοκιμή@client.test', ['用户@例子.测试'], 'Subject: utf8\\r\\n\\r\\nhi\\r\\n'.encode(), mail_options=['SMTPUTF8'])
code, text = s.vrfy('someone@example.test')
s.quit()
print(json.dumps({'refused': {k: [v[0], v[1].decode()] for k, v in refused.items()}, 'vrfy': code}))
`;
    const { stdout } = await run('/usr/bin/python3', ['-c', script, String(server.port)]);
    const result = JSON.parse(stdout) as {
      refused: Record<string, [number, string]>;
      vrfy: number;
    };
    expect(result.refused).toEqual({ 'x@elsewhere.test': [554, '5.7.1 Relay access denied'] });
    expect(result.vrfy).toBe(252);
    const last = server.stored.at(-1)!;
    expect(last.question.transaction.parameters.smtputf8).toBe(true);
    expect(formatPath(last.question.transaction.recipients[0]!.forwardPath)).toBe(
      '<用户@例子.测试>',
    );
  });

  it('swaks: a pipelined transaction gets 250 with a queue id', async () => {
    const { stdout } = await run('swaks', [
      '--server',
      `127.0.0.1:${server.port}`,
      '--helo',
      'client.test',
      '--from',
      'a@client.test',
      '--to',
      'b@example.test,c@example.test',
      '--pipeline',
      '--body',
      'pipelined via swaks',
      '--hide-informational',
    ]);
    // swaks sent MAIL, both RCPTs and DATA before reading a reply (RFC 2920), and got them in order.
    expect(stdout).toContain(
      ' -> DATA\n<-  250 2.1.0 Ok\n<-  250 2.1.5 Ok\n<-  250 2.1.5 Ok\n<-  354 End data with <CR><LF>.<CR><LF>\n',
    );
    expect(stdout).toMatch(/^<- {2}250 2\.0\.0 Ok: queued as Q\d+$/m);
    const last = server.stored.at(-1)!;
    expect(last.question.transaction.recipients).toHaveLength(2);
    expect(last.body.toString()).toContain('pipelined via swaks');
  });
});
