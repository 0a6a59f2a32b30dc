import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificate } from './certificate.js';
import { startTestSink, type SinkOptions, type TestSink } from './test-sink.js';

const sinks: TestSink[] = [];

afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.close();
});

async function start(options?: SinkOptions): Promise<TestSink> {
  const sink = await startTestSink(options);
  sinks.push(sink);
  return sink;
}

function transport(sink: TestSink, extra: Record<string, unknown> = {}) {
  return nodemailer.createTransport({
    host: sink.host,
    port: sink.port,
    secure: false,
    ignoreTLS: true,
    name: 'client.test',
    tls: { rejectUnauthorized: false },
    ...extra,
  });
}

async function send(sink: TestSink, to: string[], raw = 'Subject: t\r\n\r\nhi\r\n', extra = {}) {
  const client = transport(sink, extra);
  try {
    return await client.sendMail({ envelope: { from: 'a@client.test', to }, raw });
  } finally {
    client.close();
  }
}

/** A raw SMTP client: reads whole replies (multi-line included) and writes lines. */
class Dialog {
  #buffer = '';
  #wake: (() => void) | null = null;
  #ended = false;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
    socket.on('error', () => undefined);
  }
  static open(sink: TestSink): Promise<Dialog> {
    return new Promise((resolve, reject) => {
      const socket = connect(sink.port, sink.host, () => resolve(new Dialog(socket)));
      socket.once('error', reject);
    });
  }
  /** The next complete reply, or null once the server closed the connection. */
  async reply(): Promise<string | null> {
    for (;;) {
      const end = /^\d{3} .*\r\n/m.exec(this.#buffer);
      if (end) {
        const reply = this.#buffer.slice(0, end.index + end[0].length);
        this.#buffer = this.#buffer.slice(reply.length);
        return reply;
      }
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
  }
  async command(line: string | Buffer): Promise<string | null> {
    this.socket.write(typeof line === 'string' ? `${line}\r\n` : line);
    return this.reply();
  }
  close(): void {
    this.socket.destroy();
  }
}

describe('startTestSink', () => {
  it('records a message exactly: envelope, parameters, body octets, connection', async () => {
    const sink = await start();
    const dialog = await Dialog.open(sink);
    expect(await dialog.reply()).toMatch(/^220 sink\.petrel\.test ESMTP/);
    expect(await dialog.command('EHLO client.test')).toMatch(/^250 /m);
    expect(await dialog.command('MAIL FROM:<a@client.test> BODY=8BITMIME SIZE=123')).toMatch(
      /^250 /,
    );
    expect(await dialog.command('RCPT TO:<b@example.test>')).toMatch(/^250 /);
    expect(await dialog.command('RCPT TO:<c@example.test>')).toMatch(/^250 /);
    expect(await dialog.command('DATA')).toMatch(/^354 /);
    const wire = Buffer.concat([
      Buffer.from('Subject: exact\r\n\r\n..leading dot\r\n'),
      Buffer.from([0xc3, 0xa9, 0x0d, 0x0a]),
      Buffer.from('no final newline?\r\n.\r\n'),
    ]);
    expect(await dialog.command(wire)).toMatch(/^250 2\.0\.0 Ok: queued as SINK1/);
    expect(await dialog.command('MAIL FROM:<>')).toMatch(/^250 /);
    expect(await dialog.command('RCPT TO:<d@example.test>')).toMatch(/^250 /);
    expect(await dialog.command('DATA')).toMatch(/^354 /);
    expect(await dialog.command('x\r\n.\r\n')).toMatch(/^250 /);
    dialog.close();

    const [first, second] = await sink.waitForMessages(2);
    expect(first).toEqual({
      mailFrom: 'a@client.test',
      mailParams: { BODY: '8BITMIME', SIZE: '123' },
      rcptTo: ['b@example.test', 'c@example.test'],
      body: Buffer.concat([
        Buffer.from('Subject: exact\r\n\r\n.leading dot\r\n'),
        Buffer.from([0xc3, 0xa9, 0x0d, 0x0a]),
        Buffer.from('no final newline?\r\n'),
      ]),
      tls: false,
      user: null,
      connection: 1,
      receivedAt: expect.any(Number),
    });
    expect(second!.receivedAt).toBeGreaterThanOrEqual(first!.receivedAt);
    expect(second).toMatchObject({ mailFrom: '', mailParams: {}, rcptTo: ['d@example.test'] });
    expect(second!.body.toString()).toBe('x\r\n');
  });

  it('refuses by local part as KumoMTA does, and not with byLocalPart: false', async () => {
    const sink = await start();
    const info = await send(sink, [
      'ok@example.test',
      'tempfail-1@example.test',
      'reject-1@example.test',
    ]);
    expect(info.accepted).toEqual(['ok@example.test']);
    expect(info.rejected).toEqual(['tempfail-1@example.test', 'reject-1@example.test']);
    const errors = info.rejectedErrors?.map((error) => (error as { response?: string }).response);
    expect(errors).toEqual([
      '451 4.3.0 Temporary failure (tempfail-)',
      '550 5.1.1 No such user (reject-)',
    ]);
    expect(sink.messages.map((m) => m.rcptTo)).toEqual([['ok@example.test']]);

    const lenient = await start({ byLocalPart: false });
    const all = await send(lenient, ['tempfail-1@example.test', 'reject-1@example.test']);
    expect(all.accepted).toHaveLength(2);
  });

  it('applies a fault `times` times, then behaves normally', async () => {
    const sink = await start({
      faults: [{ stage: 'data-end', action: { reply: 451, text: '4.3.0 Later' }, times: 2 }],
    });
    for (let attempt = 0; attempt < 2; attempt++)
      await expect(send(sink, ['b@example.test'])).rejects.toMatchObject({
        responseCode: 451,
        response: '451 4.3.0 Later',
      });
    expect(sink.messages).toHaveLength(0);
    await send(sink, ['b@example.test']);
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]!.body.toString()).toBe('Subject: t\r\n\r\nhi\r\n');

    sink.setFaults([{ stage: 'mail', action: { reply: 550 } }]);
    await expect(send(sink, ['b@example.test'])).rejects.toMatchObject({
      response: '550 5.0.0 Injected fault at mail',
    });
  });

  it('matches a fault by local part, one reply per message at data-end', async () => {
    const sink = await start({
      faults: [
        { stage: 'rcpt', match: 'busy-', action: { reply: 452, text: '4.2.2 Full' } },
        { stage: 'data-end', match: 'spam-', action: { reply: 554, text: '5.7.1 No' } },
      ],
    });
    const info = await send(sink, ['busy-1@example.test', 'ok@example.test']);
    expect(info.rejected).toEqual(['busy-1@example.test']);
    await expect(send(sink, ['ok@example.test', 'SPAM-2@example.test'])).rejects.toMatchObject({
      responseCode: 554,
    });
    expect(sink.messages.map((m) => m.rcptTo)).toEqual([['ok@example.test']]);
    expect(() => sink.setFaults([{ stage: 'ehlo', match: 'x', action: { drop: true } }])).toThrow(
      /match/,
    );
  });

  it('drops the connection at DATA and after the final dot, recording nothing', async () => {
    const sink = await start({ faults: [{ stage: 'data', action: { drop: true }, times: 1 }] });
    await expect(send(sink, ['b@example.test'])).rejects.toMatchObject({ code: 'ECONNECTION' });
    sink.setFaults([{ stage: 'data-end', action: { drop: true }, times: 1 }]);
    const dialog = await Dialog.open(sink);
    await dialog.reply();
    await dialog.command('HELO client.test');
    await dialog.command('MAIL FROM:<a@client.test>');
    await dialog.command('RCPT TO:<b@example.test>');
    expect(await dialog.command('DATA')).toMatch(/^354 /);
    expect(await dialog.command('whole message\r\n.\r\n')).toBeNull();
    expect(sink.messages).toHaveLength(0);
    await send(sink, ['b@example.test']);
    expect(sink.messages).toHaveLength(1);
  });

  it('stalls for a while, then goes on', async () => {
    const sink = await start({ faults: [{ stage: 'mail', action: { stallMs: 400 } }] });
    const started = performance.now();
    await send(sink, ['b@example.test'], undefined, { socketTimeout: 5_000 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(380);
    expect(sink.messages).toHaveLength(1);
  });

  it('refuses at the greeting and at EHLO', async () => {
    const sink = await start({
      faults: [
        { stage: 'connect', action: { reply: 421, text: 'Busy' }, times: 1 },
        { stage: 'ehlo', action: { reply: 554, text: 'No EHLO' }, times: 1 },
      ],
    });
    const refused = await Dialog.open(sink);
    expect(await refused.reply()).toBe('421 Busy\r\n');
    expect(await refused.reply()).toBeNull();
    const dialog = await Dialog.open(sink);
    expect(await dialog.reply()).toMatch(/^220 /);
    expect(await dialog.command('EHLO client.test')).toBe('554 No EHLO\r\n');
    expect(await dialog.command('HELO client.test')).toMatch(/^250 /);
    dialog.close();
  });

  describe('with STARTTLS and AUTH', () => {
    let dir: string;
    let tls: { key: Buffer; cert: Buffer };
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'petrel-sink-'));
      const paths = await makeCertificate(dir);
      tls = { key: readFileSync(paths.key), cert: readFileSync(paths.cert) };
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('records the TLS session and the AUTH user, and requires AUTH', async () => {
      const sink = await start({ tls, auth: { username: 'alice', password: 'secret' } });
      const secure = { ignoreTLS: false, requireTLS: true };
      await send(sink, ['b@example.test'], undefined, {
        ...secure,
        auth: { user: 'alice', pass: 'secret' },
      });
      expect(sink.messages[0]).toMatchObject({ tls: true, user: 'alice', connection: 1 });
      await expect(
        send(sink, ['b@example.test'], undefined, {
          ...secure,
          auth: { user: 'alice', pass: 'x' },
        }),
      ).rejects.toMatchObject({ responseCode: 535 });
      await expect(send(sink, ['b@example.test'], undefined, secure)).rejects.toMatchObject({
        responseCode: 530,
      });
      expect(sink.messages).toHaveLength(1);

      sink.setFaults([{ stage: 'data-end', action: { drop: true } }]);
      await expect(
        send(sink, ['b@example.test'], undefined, {
          ...secure,
          auth: { user: 'alice', pass: 'secret' },
        }),
      ).rejects.toMatchObject({ code: 'ECONNECTION' });
      expect(sink.messages).toHaveLength(1);
      for (let i = 0; i < 100 && sink.open > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(sink.open).toBe(0);
    });
  });

  it('hides extensions from the EHLO reply', async () => {
    const ehlo = async (sink: TestSink) => {
      const dialog = await Dialog.open(sink);
      await dialog.reply();
      const reply = await dialog.command('EHLO client.test');
      dialog.close();
      return reply;
    };
    expect(await ehlo(await start({ size: 1000 }))).toMatch(/^250-8BITMIME\r\n[^]*SIZE 1000/m);
    const hidden = await ehlo(await start({ hide: ['8BITMIME', 'PIPELINING'] }));
    expect(hidden).not.toMatch(/8BITMIME|PIPELINING/);
    expect(hidden).toMatch(/SMTPUTF8/);
  });

  it('listens on a second loopback address for a second MX host', async () => {
    const first = await start();
    const second = await start({ host: '127.0.0.2' });
    expect(second.host).toBe('127.0.0.2');
    await send(second, ['b@example.test']);
    expect(second.messages).toHaveLength(1);
    expect(first.messages).toHaveLength(0);
  });

  it('counts connections, the most open at once, and which one carried a message', async () => {
    const sink = await start({ faults: [{ stage: 'mail', action: { stallMs: 300 } }] });
    await Promise.all([1, 2, 3].map(() => send(sink, ['b@example.test'])));
    expect(sink.connections).toBe(3);
    expect(sink.maxConcurrent).toBe(3);
    expect(sink.messages.map((m) => m.connection).sort()).toEqual([1, 2, 3]);

    sink.setFaults([]);
    const pooled = transport(sink, { pool: true, maxConnections: 1 });
    const envelope = { from: 'a@client.test', to: ['b@example.test'] };
    await pooled.sendMail({ envelope, raw: 'Subject: 1\r\n\r\n1\r\n' });
    await pooled.sendMail({ envelope, raw: 'Subject: 2\r\n\r\n2\r\n' });
    pooled.close();
    expect(sink.messages.slice(3).map((m) => m.connection)).toEqual([4, 4]);
    for (let i = 0; i < 100 && sink.open > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(sink.open).toBe(0);
  });

  it('waits for messages, and gives up after its timeout', async () => {
    const sink = await start();
    const waiting = sink.waitForMessages(1);
    await send(sink, ['b@example.test']);
    expect(await waiting).toHaveLength(1);
    await expect(sink.waitForMessages(2, 100)).rejects.toThrow(/1 of 2 messages/);
  });

  it('closes promptly with a client stalled in a session, failing whoever still waits', async () => {
    const sink = await startTestSink({ faults: [{ stage: 'rcpt', action: { stallMs: 60_000 } }] });
    const dialog = await Dialog.open(sink);
    await dialog.reply();
    await dialog.command('HELO client.test');
    await dialog.command('MAIL FROM:<a@client.test>');
    const stalled = dialog.command('RCPT TO:<b@example.test>');
    const waiting = expect(sink.waitForMessages(1)).rejects.toThrow(/closed/);
    await new Promise((r) => setTimeout(r, 50));
    expect(sink.open).toBe(1);
    const started = performance.now();
    await sink.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await stalled).toBeNull();
    await waiting;
    expect(sink.open).toBe(0);
    await sink.close();
  });
});
