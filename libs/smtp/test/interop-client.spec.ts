// The sender-SMTP machine against independent next hops over real sockets:
// the npm smtp-server and Python's aiosmtpd, each recording exactly what it
// received. Loopback only, ephemeral ports, everything closed at the end.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCertificate } from '@petrel/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientOptions, OutboundTransaction, RecipientOutcome } from '../src/client-types.js';
import { DEFAULT_LIMITS } from '../src/limits.js';
import { parsePath } from '../src/path-parser.js';
import type { Path } from '../src/types.js';
import { connectClient, type ClientHost } from './support/client-host.js';
import {
  aiosmtpdUnavailable,
  startAiosmtpdPeer,
  type AiosmtpdPeer,
} from './support/client-peer-aiosmtpd.js';
import { startSmtpServerPeer, type SmtpServerPeer } from './support/client-peer-smtp-server.js';

function path(text: string): Path {
  const r = parsePath(`<${text}>`, { kind: 'reverse', utf8Allowed: true, limits: DEFAULT_LIMITS });
  if (!r.ok) throw new Error(`bad path ${text}`);
  return r.path;
}

/** A body with every line a dot-stuffer must touch, and 8-bit octets. */
const BODY = Buffer.from(
  'Subject: interop\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\n. \r\ncaf\xe9 na\xefve\r\nlast line\r\n',
  'latin1',
);

function tx(
  from: string,
  to: string[],
  over: Partial<OutboundTransaction> = {},
): OutboundTransaction {
  const body = over.body ?? [BODY.subarray(0, 30), BODY.subarray(30)];
  return {
    verb: 'MAIL',
    reversePath: path(from),
    recipients: to.map(path),
    size: body.reduce((n, b) => n + b.length, 0),
    eightBit: true,
    smtputf8: false,
    body,
    ...over,
  };
}

function summary(outcomes: RecipientOutcome[]): string[] {
  return outcomes.map(
    (o) => `${o.recipient.raw} ${o.stage} ${o.reply.code}${o.synthetic ? ' synthetic' : ''}`,
  );
}

const options: ClientOptions = { heloName: 'egress.petrel.test', tls: 'none' };

describe('ClientDialog against smtp-server', () => {
  let peer: SmtpServerPeer;
  const hosts: ClientHost[] = [];
  const open = async (o: Partial<ClientOptions> = {}, p: SmtpServerPeer = peer) => {
    const host = await connectClient(p.port, { ...options, ...o });
    hosts.push(host);
    return host;
  };

  beforeAll(async () => {
    peer = await startSmtpServerPeer({ size: 1_000_000, closeTimeout: 1_000 });
  });
  afterEach(() => {
    for (const h of hosts.splice(0)) h.destroy();
  });
  afterAll(() => peer.close());

  it('delivers one pipelined transaction; the peer gets the envelope and the exact body', async () => {
    const host = await open();
    const ready = await host.expect('ready');
    expect(ready.extensions).toMatchObject({
      pipelining: true,
      eightBitMime: true,
      maxSize: 1_000_000,
    });
    const before = peer.received.length;
    host.send(tx('sender@origin.test', ['a@dest.test', 'b@dest.test']));
    const done = await host.expect('transaction-done');
    expect(summary(done.outcomes)).toEqual(['a@dest.test data 250', 'b@dest.test data 250']);
    expect(done.outcomes[0]?.reply.lines.join(' ')).toContain('Ok: queued as TEST');
    const got = peer.received[before]!;
    expect(got.mailFrom).toBe('sender@origin.test');
    expect(got.mailArgs).toMatchObject({ SIZE: String(BODY.length), BODY: '8BITMIME' });
    expect(got.rcptTo).toEqual(['a@dest.test', 'b@dest.test']);
    expect(got.body.equals(BODY)).toBe(true);
    host.quit();
    await host.expect('close');
    await host.closed;
  });

  it('reports per-recipient outcomes when the peer refuses some recipients', async () => {
    const host = await open();
    await host.expect('ready');
    const before = peer.received.length;
    host.send(
      tx('sender@origin.test', ['reject-x@dest.test', 'ok@dest.test', 'defer-y@dest.test']),
    );
    const done = await host.expect('transaction-done');
    expect(summary(done.outcomes)).toEqual([
      'reject-x@dest.test rcpt 550',
      'ok@dest.test data 250',
      'defer-y@dest.test rcpt 451',
    ]);
    expect(done.outcomes[0]?.reply.lines).toEqual(['No such user here']);
    expect(done.outcomes[0]?.reply.enhanced).toBe('5.1.1');
    expect(peer.received[before]?.rcptTo).toEqual(['ok@dest.test']);
  });

  it('sends no body when every recipient is refused', async () => {
    const host = await open();
    await host.expect('ready');
    const before = peer.received.length;
    host.send(tx('sender@origin.test', ['reject-a@dest.test', 'reject-b@dest.test']));
    const done = await host.expect('transaction-done');
    expect(summary(done.outcomes)).toEqual([
      'reject-a@dest.test rcpt 550',
      'reject-b@dest.test rcpt 550',
    ]);
    expect(peer.received.length).toBe(before);
  });

  it('applies a refused or deferred end of data to every accepted recipient', async () => {
    const host = await open();
    await host.expect('ready');
    host.send(
      tx('data-reject-me@origin.test', ['a@dest.test', 'reject-b@dest.test', 'c@dest.test']),
    );
    expect(summary((await host.expect('transaction-done')).outcomes)).toEqual([
      'a@dest.test data 554',
      'reject-b@dest.test rcpt 550',
      'c@dest.test data 554',
    ]);
    host.send(tx('data-defer-me@origin.test', ['a@dest.test']));
    expect(summary((await host.expect('transaction-done')).outcomes)).toEqual([
      'a@dest.test data 451',
    ]);
  });

  it('reuses one connection for several transactions (RSET between), then QUITs', async () => {
    const connections = peer.connections;
    const host = await open();
    await host.expect('ready');
    const before = peer.received.length;
    for (const to of ['one@dest.test', 'two@dest.test', 'three@dest.test']) {
      host.send(tx('sender@origin.test', [to]));
      expect(summary((await host.expect('transaction-done')).outcomes)).toEqual([`${to} data 250`]);
    }
    host.noop();
    expect((await host.expect('ready')).kind).toBe('ready');
    host.quit();
    await host.expect('close');
    await host.closed;
    expect(peer.connections - connections).toBe(1);
    expect(peer.received.slice(before).map((m) => m.rcptTo)).toEqual([
      ['one@dest.test'],
      ['two@dest.test'],
      ['three@dest.test'],
    ]);
  });

  it('runs lock-step when the peer does not offer PIPELINING', async () => {
    const lockstep = await startSmtpServerPeer({
      hidePIPELINING: true,
      hide8BITMIME: true,
      closeTimeout: 1_000,
    });
    try {
      const host = await open({}, lockstep);
      expect((await host.expect('ready')).extensions).toMatchObject({
        pipelining: false,
        eightBitMime: false,
      });
      host.send(tx('sender@origin.test', ['a@dest.test', 'reject-b@dest.test', 'c@dest.test']));
      expect(summary((await host.expect('transaction-done')).outcomes)).toEqual([
        'a@dest.test data 250',
        'reject-b@dest.test rcpt 550',
        'c@dest.test data 250',
      ]);
      const got = lockstep.received[0]!;
      // No BODY=8BITMIME without 8BITMIME; the 8-bit body goes as it is.
      expect(got.mailArgs).not.toHaveProperty('BODY');
      expect(got.body.equals(BODY)).toBe(true);
      host.quit();
      await host.expect('close');
    } finally {
      await lockstep.close();
    }
  });

  it('refuses a message over the peer SIZE without sending MAIL', async () => {
    const small = await startSmtpServerPeer({ size: 50, closeTimeout: 1_000 });
    try {
      const host = await open({}, small);
      await host.expect('ready');
      host.send(tx('sender@origin.test', ['a@dest.test']));
      expect(summary((await host.expect('transaction-done')).outcomes)).toEqual([
        'a@dest.test extension 552 synthetic',
      ]);
      host.quit();
      await host.expect('close');
      expect(small.received).toHaveLength(0);
    } finally {
      await small.close();
    }
  });

  it('sends SMTPUTF8 for a non-ASCII address', async () => {
    const host = await open();
    await host.expect('ready');
    const before = peer.received.length;
    host.send(tx('sender@origin.test', ['jösé@dést.test'], { smtputf8: true }));
    expect(summary((await host.expect('transaction-done')).outcomes)).toEqual([
      'jösé@dést.test data 250',
    ]);
    const got = peer.received[before]!;
    expect(got.mailArgs).toMatchObject({ SMTPUTF8: true });
    expect(got.rcptTo).toEqual(['jösé@dést.test']);
  });

  describe('with STARTTLS (a throwaway self-signed certificate)', () => {
    let dir: string;
    let tlsPeer: SmtpServerPeer;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'petrel-client-tls-'));
      const tls = await makeCertificate(dir, 'tls', 'localhost');
      tlsPeer = await startSmtpServerPeer({
        key: readFileSync(tls.key),
        cert: readFileSync(tls.cert),
        closeTimeout: 1_000,
      });
    });
    afterAll(async () => {
      await tlsPeer?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('upgrades, says EHLO again, authenticates and delivers over TLS', async () => {
      const host = await open(
        { tls: 'required', credentials: { username: 'alice', password: 'secret' } },
        tlsPeer,
      );
      const ready = await host.expect('ready');
      expect(ready.extensions.startTls).toBe(false);
      expect(ready.extensions.auth).toContain('PLAIN');
      host.send(tx('sender@origin.test', ['a@dest.test']));
      expect(summary((await host.expect('transaction-done')).outcomes)).toEqual([
        'a@dest.test data 250',
      ]);
      const got = tlsPeer.received.at(-1)!;
      expect(got.secure).toBe(true);
      expect(got.user).toBe('alice');
      expect(got.body.equals(BODY)).toBe(true);
      host.quit();
      await host.expect('close');
    });

    it('fails the session when the credentials are refused', async () => {
      const host = await open(
        { tls: 'required', credentials: { username: 'alice', password: 'wrong' } },
        tlsPeer,
      );
      const failed = await host.expect('failed');
      expect(failed).toMatchObject({ stage: 'auth', synthetic: false, reply: { code: 535 } });
      await host.closed;
    });
  });
});

const noAiosmtpd = aiosmtpdUnavailable();

describe.skipIf(noAiosmtpd !== null)(
  `ClientDialog against aiosmtpd${noAiosmtpd ? ` (skipped: ${noAiosmtpd})` : ''}`,
  () => {
    let peer: AiosmtpdPeer;
    const hosts: ClientHost[] = [];
    beforeAll(async () => {
      peer = await startAiosmtpdPeer();
    });
    afterEach(() => {
      for (const h of hosts.splice(0)) h.destroy();
    });
    afterAll(() => peer?.close());

    it('delivers lock-step with per-recipient outcomes and the exact body', async () => {
      const host = await connectClient(peer.port, options);
      hosts.push(host);
      const ready = await host.expect('ready');
      expect(ready.extensions).toMatchObject({
        pipelining: false,
        eightBitMime: true,
        smtputf8: true,
      });
      host.send(
        tx('sender@origin.test', [
          'a@dest.test',
          'reject-b@dest.test',
          'defer-c@dest.test',
          'd@dest.test',
        ]),
      );
      const done = await host.expect('transaction-done');
      expect(summary(done.outcomes)).toEqual([
        'a@dest.test data 250',
        'reject-b@dest.test rcpt 550',
        'defer-c@dest.test rcpt 451',
        'd@dest.test data 250',
      ]);
      const got = peer.received.at(-1)!;
      expect(got.mailFrom).toBe('sender@origin.test');
      expect(got.mailArgs).toMatchObject({ SIZE: String(BODY.length), BODY: '8BITMIME' });
      expect(got.rcptTo).toEqual(['a@dest.test', 'd@dest.test']);
      expect(got.body.equals(BODY)).toBe(true);

      // The same connection again: RSET, a refused end of data, a UTF-8 address.
      host.send(tx('data-reject-x@origin.test', ['a@dest.test']));
      expect(summary((await host.expect('transaction-done')).outcomes)).toEqual([
        'a@dest.test data 554',
      ]);
      host.send(tx('sender@origin.test', ['jösé@dést.test'], { smtputf8: true }));
      expect(summary((await host.expect('transaction-done')).outcomes)).toEqual([
        'jösé@dést.test data 250',
      ]);
      expect(peer.received.at(-1)?.mailArgs).toMatchObject({ SMTPUTF8: true });
      expect(peer.received.at(-1)?.rcptTo).toEqual(['jösé@dést.test']);
      host.quit();
      await host.expect('close');
      await host.closed;
    });
  },
);
