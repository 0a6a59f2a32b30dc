// NextHopConnection against two independent receivers over loopback sockets:
// Postfix's smtp-sink (PIPELINING, a 1 MB message through write backpressure,
// its dump file checked line by line) and Python's aiosmtpd (no PIPELINING:
// the lock-step dialog). Each is skipped, with the reason in its title, when
// it is not installed. Servers bind 127.0.0.1 on a free port and are stopped
// in afterAll.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  DEFAULT_LIMITS,
  parsePath,
  type OutboundTransaction,
  type Path,
  type RecipientOutcome,
} from '@petrel/smtp';
import { freePort } from '@petrel/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NextHopConnection, type NextHopOptions } from './index.js';

function path(text: string): Path {
  const r = parsePath(`<${text}>`, { kind: 'reverse', utf8Allowed: true, limits: DEFAULT_LIMITS });
  if (!r.ok) throw new Error(`bad path ${text}`);
  return r.path;
}

function tx(from: string, to: string[], body: Buffer[], eightBit = false): OutboundTransaction {
  return {
    verb: 'MAIL',
    reversePath: path(from),
    recipients: to.map(path),
    size: body.reduce((n, b) => n + b.length, 0),
    eightBit,
    smtputf8: false,
    body,
  };
}

function summary(outcomes: RecipientOutcome[]): string[] {
  return outcomes.map(
    (o) => `${o.recipient.raw} ${o.stage} ${o.reply.code}${o.synthetic ? ' synthetic' : ''}`,
  );
}

async function opened(port: number, over: Partial<NextHopOptions> = {}) {
  const result = await NextHopConnection.open({
    target: { host: 'localhost', address: '127.0.0.1', port },
    heloName: 'egress.petrel.test',
    tls: 'none',
    ...over,
  });
  if (!result.ok) throw new Error(`open failed: ${JSON.stringify(result)}`);
  return result.connection;
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

// --- Postfix smtp-sink ----------------------------------------------------------

const SMTP_SINK = '/usr/sbin/smtp-sink';

function smtpSinkUnavailable(): string | null {
  return existsSync(SMTP_SINK) ? null : `${SMTP_SINK} not found (Debian: apt-get install postfix)`;
}

/** True once something accepts connections on 127.0.0.1:port; false when `child` exits first. */
async function listening(port: number, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const probe = connect({ host: '127.0.0.1', port });
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (up) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/**
 * smtp-sink on a free port, dumping each transaction to a file in `dir`
 * (-d dir/%M.: one file per message). As root it must drop privileges (-u),
 * so the directory is world-writable.
 */
async function startSmtpSink(dir: string): Promise<{ port: number; child: ChildProcess }> {
  chmodSync(dir, 0o777);
  const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(SMTP_SINK, [...user, '-d', `${dir}/%M.`, `127.0.0.1:${port}`, '10'], {
      stdio: 'ignore',
    });
    child.on('error', () => undefined);
    if (await listening(port, child)) return { port, child };
    await stop(child); // most likely the port was taken meanwhile: another one
  }
  throw new Error('smtp-sink did not start');
}

async function dumpFile(dir: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const files = readdirSync(dir);
    if (files.length > 0) {
      const content = readFileSync(join(dir, files[0]!), 'latin1');
      // The dump ends with an empty line once the message is complete.
      if (content.endsWith('\n\n')) return content;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('smtp-sink wrote no dump file');
}

/** About 1 MB in 78-octet lines, every seventh starting with a dot. */
function megabyte(): Buffer {
  const lines: string[] = ['Subject: one megabyte', ''];
  for (let i = 0, n = 0; n < 1_000_000; i++) {
    const line = `${i % 7 === 0 ? '.' : ''}line ${i} `.padEnd(76, 'x');
    lines.push(line);
    n += line.length + 2;
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
}

const noSink = smtpSinkUnavailable();

describe.skipIf(noSink !== null)(
  `NextHopConnection against Postfix smtp-sink${noSink ? ` (skipped: ${noSink})` : ''}`,
  () => {
    let dir: string;
    let sink: { port: number; child: ChildProcess };
    const connections: NextHopConnection[] = [];
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'petrel-smtp-sink-'));
      sink = await startSmtpSink(dir);
    });
    afterEach(() => {
      for (const c of connections.splice(0)) c.destroy();
    });
    afterAll(async () => {
      if (sink !== undefined) await stop(sink.child);
      rmSync(dir, { recursive: true, force: true });
    });

    it('delivers a 1 MB message with PIPELINING: 250 for every recipient, the body intact', async () => {
      const connection = await opened(sink.port);
      connections.push(connection);
      expect(connection.extensions.pipelining).toBe(true);
      const body = megabyte();
      // The stored message in uneven chunks, as a store might hand it over.
      const chunks = [
        body.subarray(0, 100_003),
        body.subarray(100_003, 700_000),
        body.subarray(700_000),
      ];
      const recipients = ['a@dest.test', 'b@dest.test', 'c@dest.test'];
      const { outcomes } = await connection.send(tx('sender@origin.test', recipients, chunks));
      expect(summary(outcomes)).toEqual(recipients.map((r) => `${r} data 250`));
      await connection.close();

      // The dump: smtp-sink's own headers, a three-line Received:, then the
      // message as received (dot-unstuffed, lines ended with LF), then an empty line.
      const lines = (await dumpFile(dir)).split('\n');
      expect(lines.filter((l) => l.startsWith('X-Rcpt-Args: '))).toEqual(
        recipients.map((r) => `X-Rcpt-Args: <${r}>`),
      );
      expect(lines.find((l) => l.startsWith('X-Mail-Args: '))).toBe(
        'X-Mail-Args: <sender@origin.test>',
      );
      const received = lines.findIndex((l) => l.startsWith('Received: '));
      expect(received).toBeGreaterThan(0);
      const message = lines.slice(received + 3).join('\n');
      expect(message).toBe(`${body.toString('latin1').replaceAll('\r\n', '\n')}\n`);
    });
  },
);

// --- Python aiosmtpd --------------------------------------------------------------

const PYTHON = '/usr/bin/python3';

function aiosmtpdUnavailable(): string | null {
  try {
    execFileSync(PYTHON, ['-c', 'import aiosmtpd'], { stdio: 'ignore' });
    return null;
  } catch {
    return `${PYTHON} cannot import aiosmtpd (Debian: apt-get install python3-aiosmtpd)`;
  }
}

/**
 * aiosmtpd on 127.0.0.1, a kernel-chosen port; prints its port, then one JSON
 * line per message (envelope, base64 body as received after its own
 * dot-unstuffing); exits when stdin closes. RCPT reject-* 550, defer-* 451;
 * DATA from data-reject-* 554.
 */
const SCRIPT = String.raw`
import asyncio, base64, json, sys
from aiosmtpd.smtp import SMTP

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('reject-'):
            return '550 5.1.1 No such user here'
        if address.startswith('defer-'):
            return '451 4.2.0 Mailbox busy, try later'
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'

    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({
            'mailFrom': envelope.mail_from,
            'mailOptions': envelope.mail_options,
            'rcptTo': envelope.rcpt_tos,
            'body': base64.b64encode(envelope.original_content).decode(),
        }), flush=True)
        if envelope.mail_from.startswith('data-reject-'):
            return '554 5.6.0 Content refused'
        return '250 2.0.0 Message accepted for delivery'

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Handler(), hostname='aiosmtpd.test', decode_data=False),
        '127.0.0.1', 0)
    print(json.dumps({'port': server.sockets[0].getsockname()[1]}), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()

asyncio.run(main())
`;

interface AiosmtpdMessage {
  readonly mailFrom: string;
  readonly mailOptions: string[];
  readonly rcptTo: string[];
  readonly body: Buffer;
}

async function startAiosmtpd(): Promise<{
  port: number;
  received: AiosmtpdMessage[];
  close(): Promise<void>;
}> {
  const child = spawn(PYTHON, ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const received: AiosmtpdMessage[] = [];
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`aiosmtpd exited with ${code}`)));
    lines.on('line', (line) => {
      const record = JSON.parse(line) as { port?: number } & Omit<AiosmtpdMessage, 'body'> & {
          body: string;
        };
      if (record.port !== undefined) return resolve(record.port);
      received.push({ ...record, body: Buffer.from(record.body, 'base64') });
    });
  });
  return {
    port,
    received,
    close: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const BODY = Buffer.from(
  'Subject: aiosmtpd\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\ncaf\xe9\r\nlast line\r\n',
  'latin1',
);

const noAiosmtpd = aiosmtpdUnavailable();

describe.skipIf(noAiosmtpd !== null)(
  `NextHopConnection against aiosmtpd${noAiosmtpd ? ` (skipped: ${noAiosmtpd})` : ''}`,
  () => {
    let peer: Awaited<ReturnType<typeof startAiosmtpd>>;
    const connections: NextHopConnection[] = [];
    beforeAll(async () => {
      peer = await startAiosmtpd();
    });
    afterEach(() => {
      for (const c of connections.splice(0)) c.destroy();
    });
    afterAll(() => peer?.close());

    it('delivers lock-step with per-recipient outcomes and the exact body, twice on one connection', async () => {
      const connection = await opened(peer.port);
      connections.push(connection);
      expect(connection.extensions).toMatchObject({ pipelining: false, eightBitMime: true });
      const first = await connection.send(
        tx(
          'sender@origin.test',
          ['a@dest.test', 'reject-b@dest.test', 'defer-c@dest.test', 'd@dest.test'],
          [BODY.subarray(0, 30), BODY.subarray(30)],
          true,
        ),
      );
      expect(summary(first.outcomes)).toEqual([
        'a@dest.test data 250',
        'reject-b@dest.test rcpt 550',
        'defer-c@dest.test rcpt 451',
        'd@dest.test data 250',
      ]);
      // The record comes through a pipe, maybe after the reply through the socket.
      await until(() => peer.received.length === 1);
      const got = peer.received[0]!;
      expect(got.mailFrom).toBe('sender@origin.test');
      expect(got.mailOptions).toContain('BODY=8BITMIME');
      expect(got.rcptTo).toEqual(['a@dest.test', 'd@dest.test']);
      expect(got.body.equals(BODY)).toBe(true);

      expect(connection.reusable).toBe(true);
      const second = await connection.send(
        tx('data-reject-x@origin.test', ['a@dest.test'], [BODY]),
      );
      expect(summary(second.outcomes)).toEqual(['a@dest.test data 554']);
      await until(() => peer.received.length === 2);
      await connection.close();
    });
  },
);
