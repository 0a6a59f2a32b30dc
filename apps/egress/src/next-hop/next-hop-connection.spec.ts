// NextHopConnection over real loopback sockets: against the npm smtp-server
// (recording exactly what it received, refusing by local part as KumoMTA's
// test sink does) and against scripted peers that misbehave on cue (never
// greet, stall, stop reading). Every server binds 127.0.0.x on a port the
// kernel picks and is closed in afterEach/afterAll.
//
// smtp-server behaviours, by local part:
//   RCPT  reject-*  550 5.1.1 ;  defer-*  451 4.2.0
//   DATA  (sender)  data-defer-*  451 4.3.0 at the end of data ;
//                   data-hang-*   no reply to the end of data ;
//                   data-drop-*   the connection destroyed at the first body chunk
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_LIMITS,
  parsePath,
  type OutboundTransaction,
  type Path,
  type RecipientOutcome,
} from '@petrel/smtp';
import { freePort, makeCertificate } from '@petrel/testing';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NextHopConnection, type NextHopOptions, type OpenResult } from './index.js';

// --- fixtures ------------------------------------------------------------------

function path(text: string): Path {
  const r = parsePath(`<${text}>`, { kind: 'reverse', utf8Allowed: true, limits: DEFAULT_LIMITS });
  if (!r.ok) throw new Error(`bad path ${text}`);
  return r.path;
}

/** Every line a dot-stuffer must touch, and 8-bit octets. */
const BODY = Buffer.from(
  'Subject: next hop\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\n. \r\ncaf\xe9 na\xefve\r\nlast line\r\n',
  'latin1',
);

function tx(
  from: string,
  to: string[],
  body: Buffer[] = [BODY.subarray(0, 25), BODY.subarray(25)],
) {
  const transaction: OutboundTransaction = {
    verb: 'MAIL',
    reversePath: path(from),
    recipients: to.map(path),
    size: body.reduce((n, b) => n + b.length, 0),
    eightBit: true,
    smtputf8: false,
    body,
  };
  return transaction;
}

/** A body of about `octets` in 78-octet lines, some starting with a dot. */
function bigBody(octets: number): Buffer {
  const lines: string[] = ['Subject: big', ''];
  for (let i = 0, n = 0; n < octets; i++) {
    const line = `${i % 7 === 0 ? '.' : ''}line ${i} `.padEnd(76, 'x');
    lines.push(line);
    n += line.length + 2;
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
}

function summary(outcomes: RecipientOutcome[]): string[] {
  return outcomes.map(
    (o) => `${o.recipient.raw} ${o.stage} ${o.reply.code}${o.synthetic ? ' synthetic' : ''}`,
  );
}

function text(reply: { lines: readonly string[] }): string {
  return reply.lines.join(' ');
}

// --- the smtp-server peer --------------------------------------------------------

interface Received {
  readonly mailFrom: string;
  readonly rcptTo: string[];
  readonly body: Buffer;
  readonly secure: boolean;
  readonly servername: string | undefined;
  readonly user: string | undefined;
  readonly remoteAddress: string;
}

interface Peer {
  readonly port: number;
  readonly received: Received[];
  /** TCP connections accepted, MAIL commands and AUTH attempts seen. */
  readonly seen: { connections: number; mail: number; auth: string[] };
  close(): Promise<void>;
}

function refusal(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

async function startPeer(options: Partial<SMTPServerOptions> = {}): Promise<Peer> {
  const received: Received[] = [];
  const seen = { connections: 0, mail: 0, auth: [] as string[] };
  const sockets = new Set<Socket>();
  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    logger: false,
    closeTimeout: 500,
    size: 50_000_000,
    disabledCommands: options.key === undefined ? ['STARTTLS'] : [],
    onConnect(_session, callback) {
      seen.connections++;
      callback();
    },
    onAuth(auth, _session, callback) {
      seen.auth.push(auth.method);
      if (auth.username === 'alice' && auth.password === 'secret')
        callback(null, { user: 'alice' });
      else callback(refusal(535, '5.7.8 Authentication credentials invalid'));
    },
    onMailFrom(_address, _session, callback) {
      seen.mail++;
      callback();
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('reject-'))
        return callback(refusal(550, '5.1.1 No such user here'));
      if (address.address.startsWith('defer-'))
        return callback(refusal(451, '4.2.0 Mailbox busy, try later'));
      callback();
    },
    onData(stream, session, callback) {
      const from = session.envelope.mailFrom;
      const mailFrom = from === false ? '' : from.address;
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        chunks.push(c);
        if (mailFrom.startsWith('data-drop-')) {
          for (const s of sockets) if (s.remotePort === session.remotePort) s.destroy();
        }
      });
      stream.on('end', () => {
        received.push({
          mailFrom,
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          body: Buffer.concat(chunks),
          secure: session.secure,
          servername: (session as { servername?: string }).servername,
          user: typeof session.user === 'string' ? session.user : undefined,
          remoteAddress: session.remoteAddress,
        });
        if (mailFrom.startsWith('data-hang-')) return;
        if (mailFrom.startsWith('data-defer-'))
          return callback(refusal(451, '4.3.0 Try again later'));
        callback(null, 'Ok: queued as TEST');
      });
    },
    ...options,
  });
  server.on('error', () => undefined);
  server.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// --- scripted peers ----------------------------------------------------------------

interface Scripted {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A TCP server on `host` that greets (unless `greet` is false) and hands every
 * command line to `onLine`, which writes what it likes. In DATA it reads
 * nothing (answers nothing) unless `onLine` resumes.
 */
async function startScripted(
  host: string,
  onLine: ((line: string, socket: Socket) => void) | null,
): Promise<Scripted> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (onLine === null) return; // never greets
    socket.write('220 scripted.test ESMTP\r\n');
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let eol = buffered.indexOf('\r\n'); eol >= 0; eol = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, eol);
        buffered = buffered.slice(eol + 2);
        onLine(line, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A minimal receiver for the scripted peers: EHLO with PIPELINING, everything 250, DATA 354. */
function answer(line: string, socket: Socket, data: (socket: Socket) => void): void {
  const verb = line.split(' ')[0]!.toUpperCase();
  if (verb === 'EHLO') socket.write('250-scripted.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
  else if (verb === 'DATA') data(socket);
  else if (verb === 'QUIT') socket.end('221 2.0.0 Bye\r\n');
  else if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP')
    socket.write('250 2.0.0 Ok\r\n');
}

// --- the tests -----------------------------------------------------------------------

const HELO = 'egress.petrel.test';

describe('NextHopConnection', () => {
  const connections: NextHopConnection[] = [];
  const servers: { close(): Promise<void> }[] = [];
  let peer: Peer;

  async function open(over: Partial<NextHopOptions> & { port: number }): Promise<OpenResult> {
    const { port, ...rest } = over;
    const result = await NextHopConnection.open({
      target: { host: 'mx.petrel.test', address: '127.0.0.1', port },
      heloName: HELO,
      tls: 'none',
      ...rest,
    });
    if (result.ok) connections.push(result.connection);
    return result;
  }

  async function opened(over: Partial<NextHopOptions> & { port: number }) {
    const result = await open(over);
    if (!result.ok) throw new Error(`open failed: ${JSON.stringify(result)}`);
    return result.connection;
  }

  beforeAll(async () => {
    peer = await startPeer();
  });
  afterEach(async () => {
    for (const c of connections.splice(0)) c.destroy();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(() => peer.close());

  it('delivers to 2 recipients; the next hop gets the envelope and the exact body', async () => {
    const connection = await opened({ port: peer.port });
    expect(connection.extensions).toMatchObject({ pipelining: true, eightBitMime: true });
    expect(connection.tls).toBeNull();
    expect(connection.reusable).toBe(true);
    const before = peer.received.length;
    const { outcomes, verbUsed } = await connection.send(
      tx('sender@origin.test', ['a@dest.test', 'b@dest.test']),
    );
    expect(verbUsed).toBe('MAIL');
    expect(summary(outcomes)).toEqual(['a@dest.test data 250', 'b@dest.test data 250']);
    expect(text(outcomes[0]!.reply)).toContain('Ok: queued as TEST');
    const got = peer.received[before]!;
    expect(got.mailFrom).toBe('sender@origin.test');
    expect(got.rcptTo).toEqual(['a@dest.test', 'b@dest.test']);
    expect(got.body.equals(BODY)).toBe(true);
    await connection.close();
    expect(connection.reusable).toBe(false);
  });

  it('reuses one connection for two transactions, with NOOP between', async () => {
    const connectionsBefore = peer.seen.connections;
    const before = peer.received.length;
    const connection = await opened({ port: peer.port });
    const first = await connection.send(tx('sender@origin.test', ['one@dest.test']));
    expect(summary(first.outcomes)).toEqual(['one@dest.test data 250']);
    expect(connection.reusable).toBe(true);
    expect(await connection.noop()).toBe(true);
    const second = await connection.send(tx('sender@origin.test', ['two@dest.test']));
    expect(summary(second.outcomes)).toEqual(['two@dest.test data 250']);
    await connection.close();
    expect(peer.seen.connections - connectionsBefore).toBe(1);
    expect(peer.received.slice(before).map((m) => m.rcptTo)).toEqual([
      ['one@dest.test'],
      ['two@dest.test'],
    ]);
  });

  it('adds no socket listeners per send() on a reused connection', async () => {
    const connection = await opened({ port: peer.port });
    const socket = (connection as unknown as { socket: Socket }).socket;
    const events = ['data', 'end', 'error', 'close', 'drain'] as const;
    const count = () => events.map((e) => socket.listenerCount(e));
    await connection.send(tx('sender@origin.test', ['a@dest.test']));
    const after1 = count();
    for (let i = 0; i < 12; i++) await connection.send(tx('sender@origin.test', ['a@dest.test']));
    expect(await connection.noop()).toBe(true);
    expect(count()).toEqual(after1);
  });

  it('gives each recipient its own RCPT reply: 550 for one, 250 for the other', async () => {
    const connection = await opened({ port: peer.port });
    const before = peer.received.length;
    const { outcomes } = await connection.send(
      tx('sender@origin.test', ['reject-x@dest.test', 'ok@dest.test']),
    );
    expect(summary(outcomes)).toEqual(['reject-x@dest.test rcpt 550', 'ok@dest.test data 250']);
    expect(outcomes[0]!.reply).toMatchObject({ enhanced: '5.1.1', lines: ['No such user here'] });
    expect(peer.received[before]!.rcptTo).toEqual(['ok@dest.test']);
    expect(connection.reusable).toBe(true);
  });

  it('applies a 451 at the end of data to every recipient', async () => {
    const connection = await opened({ port: peer.port });
    const { outcomes } = await connection.send(
      tx('data-defer-me@origin.test', ['a@dest.test', 'b@dest.test']),
    );
    expect(summary(outcomes)).toEqual(['a@dest.test data 451', 'b@dest.test data 451']);
    expect(outcomes[1]!.reply.enhanced).toBe('4.3.0');
    expect(connection.reusable).toBe(true);
  });

  it('binds the configured local address', async () => {
    const connection = await opened({ port: peer.port, localAddress: '127.0.0.2' });
    await connection.send(tx('sender@origin.test', ['a@dest.test']));
    expect(peer.received.at(-1)!.remoteAddress).toBe('127.0.0.2');
  });

  it('gives every recipient a synthetic 4yz when the next hop drops the connection in DATA', async () => {
    const connection = await opened({ port: peer.port });
    const { outcomes } = await connection.send(
      tx('data-drop-me@origin.test', ['a@dest.test', 'b@dest.test'], [bigBody(2_000_000)]),
    );
    expect(summary(outcomes)).toEqual([
      'a@dest.test connection 421 synthetic',
      'b@dest.test connection 421 synthetic',
    ]);
    expect(outcomes[0]!.reply.enhanced).toBe('4.4.2');
    expect(text(outcomes[0]!.reply)).toContain('mx.petrel.test[127.0.0.1]');
    expect(connection.reusable).toBe(false);
    expect((connection as unknown as { socket: Socket }).socket.destroyed).toBe(true);
    // The session is over: a later send() gets the same reply without writing.
    const again = await connection.send(tx('sender@origin.test', ['c@dest.test']));
    expect(summary(again.outcomes)).toEqual(['c@dest.test connection 421 synthetic']);
  });

  it('times out the reply to the final dot (dataEndMs) with a synthetic 4yz', async () => {
    const connection = await opened({ port: peer.port, timeouts: { dataEndMs: 300 } });
    const started = Date.now();
    const { outcomes } = await connection.send(
      tx('data-hang-me@origin.test', ['a@dest.test', 'b@dest.test']),
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(summary(outcomes)).toEqual([
      'a@dest.test connection 421 synthetic',
      'b@dest.test connection 421 synthetic',
    ]);
    expect(text(outcomes[0]!.reply)).toContain(
      'timed out after 300 ms awaiting the reply to the end of data',
    );
    expect(connection.reusable).toBe(false);
  });

  it('answers a refused connection with a synthetic 421 4.4.1', async () => {
    const port = await freePort();
    const result = await open({ port });
    expect(result).toMatchObject({ ok: false, stage: 'connect', synthetic: true });
    if (result.ok) return;
    expect(result.reply).toMatchObject({ code: 421, enhanced: '4.4.1' });
    expect(text(result.reply)).toBe(
      `connection to mx.petrel.test[127.0.0.1]:${port} failed: ECONNREFUSED`,
    );
  });

  it('times out a next hop that accepts the connection but never greets', async () => {
    const silent = await startScripted('127.0.0.2', null);
    servers.push(silent);
    const started = Date.now();
    const result = await NextHopConnection.open({
      target: { host: 'mx2.petrel.test', address: '127.0.0.2', port: silent.port },
      heloName: HELO,
      tls: 'none',
      timeouts: { greetingMs: 300 },
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result).toMatchObject({ ok: false, stage: 'greeting', synthetic: true });
    if (result.ok) return;
    expect(result.reply).toMatchObject({ code: 421, enhanced: '4.4.2' });
    expect(text(result.reply)).toContain('timed out after 300 ms awaiting the greeting');
  });

  it('times out each pipelined reply with its own limit (MAIL: commandMs)', async () => {
    // MAIL is never answered; DATA's own limit is long, so only commandMs can end it.
    const mute = await startScripted('127.0.0.2', (line, socket) => {
      if (!/^(MAIL|RCPT|DATA)/.test(line)) answer(line, socket, () => undefined);
    });
    servers.push(mute);
    const result = await NextHopConnection.open({
      target: { host: '127.0.0.2', address: '127.0.0.2', port: mute.port },
      heloName: HELO,
      tls: 'none',
      timeouts: { commandMs: 300, dataStartMs: 10_000 },
    });
    if (!result.ok) throw new Error('open failed');
    connections.push(result.connection);
    const { outcomes } = await result.connection.send(tx('s@origin.test', ['a@dest.test']));
    expect(summary(outcomes)).toEqual(['a@dest.test connection 421 synthetic']);
    expect(text(outcomes[0]!.reply)).toContain('timed out after 300 ms awaiting the reply to MAIL');
  });

  it('times out a write that makes no progress (dataBlockMs) when the next hop stops reading', async () => {
    const stalled = await startScripted('127.0.0.1', (line, socket) =>
      answer(line, socket, (s) => {
        s.write('354 go ahead\r\n');
        s.pause();
      }),
    );
    servers.push(stalled);
    const connection = await opened({
      port: stalled.port,
      timeouts: { dataBlockMs: 300, dataEndMs: 10_000 },
    });
    const { outcomes } = await connection.send(
      tx('s@origin.test', ['a@dest.test'], [bigBody(24_000_000)]),
    );
    expect(summary(outcomes)).toEqual(['a@dest.test connection 421 synthetic']);
    expect(text(outcomes[0]!.reply)).toContain(
      'timed out after 300 ms writing the message (no progress)',
    );
  });

  it('does not take a reply to the end of data that comes before the message is written', async () => {
    // 354 and 250 at once, then nothing more is read: the 250 answers no end of data.
    const hasty = await startScripted('127.0.0.1', (line, socket) =>
      answer(line, socket, (s) => {
        s.write('354 go ahead\r\n250 2.0.0 Ok: queued\r\n');
        s.pause();
      }),
    );
    servers.push(hasty);
    const connection = await opened({ port: hasty.port });
    const { outcomes } = await connection.send(
      tx('s@origin.test', ['a@dest.test'], [bigBody(24_000_000)]),
    );
    expect(summary(outcomes)).toEqual(['a@dest.test connection 451 synthetic']);
    expect(outcomes[0]!.reply.enhanced).toBe('4.5.0');
    expect(connection.reusable).toBe(false);
  });

  describe('with STARTTLS', () => {
    let dir: string;
    let mx: { cert: Buffer; key: Buffer };
    let other: { cert: Buffer; key: Buffer };
    let tlsPeer: Peer;
    let otherPeer: Peer;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'petrel-next-hop-tls-'));
      const read = (p: { cert: string; key: string }) => ({
        cert: readFileSync(p.cert),
        key: readFileSync(p.key),
      });
      mx = read(await makeCertificate(dir, 'mx', 'mx.petrel.test'));
      other = read(await makeCertificate(dir, 'other', 'other.petrel.test'));
      tlsPeer = await startPeer({ key: mx.key, cert: mx.cert });
      otherPeer = await startPeer({ key: other.key, cert: other.cert });
    });
    afterAll(async () => {
      await tlsPeer?.close();
      await otherPeer?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('opportunistic: upgrades without verifying and records that it did not verify', async () => {
      const connection = await opened({ port: tlsPeer.port, tls: 'opportunistic' });
      expect(connection.tls).toMatchObject({ verified: false });
      expect(connection.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
      expect(connection.tls?.cipher).not.toBe('');
      expect(connection.extensions.startTls).toBe(false);
      const { outcomes } = await connection.send(tx('sender@origin.test', ['a@dest.test']));
      expect(summary(outcomes)).toEqual(['a@dest.test data 250']);
      const got = tlsPeer.received.at(-1)!;
      expect(got.secure).toBe(true);
      expect(got.body.equals(BODY)).toBe(true);
    });

    it('required: verifies the certificate against the host name with the given CA', async () => {
      const connection = await opened({ port: tlsPeer.port, tls: 'required', ca: mx.cert });
      expect(connection.tls).toMatchObject({ verified: true });
      await connection.send(tx('sender@origin.test', ['a@dest.test']));
      const got = tlsPeer.received.at(-1)!;
      expect(got.secure).toBe(true);
      expect(got.servername).toBe('mx.petrel.test');
    });

    it('required: a certificate for another name fails the session with 451 4.7.5, nothing sent', async () => {
      const before = { ...otherPeer.seen, auth: otherPeer.seen.auth.length };
      const result = await open({
        port: otherPeer.port,
        tls: 'required',
        ca: other.cert,
        credentials: { username: 'alice', password: 'secret' },
      });
      expect(result).toMatchObject({ ok: false, stage: 'tls', synthetic: true });
      if (result.ok) return;
      expect(result.reply).toMatchObject({ code: 451, enhanced: '4.7.5' });
      expect(text(result.reply)).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
      expect(otherPeer.seen.mail).toBe(before.mail);
      expect(otherPeer.seen.auth.length).toBe(before.auth);
      expect(otherPeer.received).toHaveLength(0);
    });

    it('required: a self-signed certificate without its CA fails the session', async () => {
      const result = await open({ port: tlsPeer.port, tls: 'required' });
      expect(result).toMatchObject({ ok: false, stage: 'tls', reply: { code: 451 } });
    });

    it('authenticates with AUTH PLAIN under TLS and delivers', async () => {
      const connection = await opened({
        port: tlsPeer.port,
        tls: 'required',
        ca: mx.cert,
        credentials: { username: 'alice', password: 'secret' },
      });
      expect(tlsPeer.seen.auth.at(-1)).toBe('PLAIN');
      const { outcomes } = await connection.send(tx('sender@origin.test', ['a@dest.test']));
      expect(summary(outcomes)).toEqual(['a@dest.test data 250']);
      expect(tlsPeer.received.at(-1)!.user).toBe('alice');
    });

    it('fails the session with the next hop reply when credentials are refused', async () => {
      const result = await open({
        port: tlsPeer.port,
        tls: 'required',
        ca: mx.cert,
        credentials: { username: 'alice', password: 'wrong' },
      });
      expect(result).toMatchObject({ ok: false, stage: 'auth', synthetic: false });
      if (!result.ok) expect(result.reply.code).toBe(535);
    });
  });
});
