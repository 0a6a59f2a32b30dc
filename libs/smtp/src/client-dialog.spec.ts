import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientDialog } from './client-dialog.js';
import type {
  ClientOptions,
  ClientOutput,
  OutboundTransaction,
  RecipientOutcome,
} from './client-types.js';
import { DEFAULT_LIMITS } from './limits.js';
import { parsePath } from './path-parser.js';
import type { Path } from './types.js';

// --- a scripted next hop ------------------------------------------------------

function path(text: string, kind: 'reverse' | 'forward' = 'forward'): Path {
  const r = parsePath(`<${text}>`, { kind, utf8Allowed: true, limits: DEFAULT_LIMITS });
  if (!r.ok) throw new Error(`bad path ${text}: ${r.error}`);
  return r.path;
}

const EHLO_FULL = [
  '250-mx.test Hello',
  '250-SIZE 1000000',
  '250-PIPELINING',
  '250-8BITMIME',
  '250-SMTPUTF8',
  '250-ENHANCEDSTATUSCODES',
  '250 HELP',
];
const EHLO_PLAIN = ['250-mx.test Hello', '250 8BITMIME'];

/** Server lines, CRLF added to each. */
const S = (...lines: string[]) => Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'utf8');

/** The bytes of every `send` output, as text. */
function sent(outputs: ClientOutput[]): string {
  return Buffer.concat(outputs.flatMap((o) => (o.kind === 'send' ? o.data : []))).toString('utf8');
}

function kinds(outputs: ClientOutput[]): string[] {
  return outputs.map((o) => o.kind);
}

function of<K extends ClientOutput['kind']>(
  outputs: ClientOutput[],
  kind: K,
): Extract<ClientOutput, { kind: K }> {
  const found = outputs.find((o) => o.kind === kind);
  if (found === undefined) throw new Error(`no ${kind} in ${JSON.stringify(kinds(outputs))}`);
  return found as Extract<ClientOutput, { kind: K }>;
}

function summary(outcomes: RecipientOutcome[]): string[] {
  return outcomes.map(
    (o) =>
      `${o.recipient.raw} ${o.stage} ${o.reply.code}${o.reply.enhanced ? ` ${o.reply.enhanced}` : ''}${o.synthetic ? ' synthetic' : ''}`,
  );
}

const base: ClientOptions = { heloName: 'client.test', tls: 'none' };

/** A dialog past greeting and EHLO. */
function connected(ehlo: string[] = EHLO_FULL, options: Partial<ClientOptions> = {}): ClientDialog {
  const d = new ClientDialog({ ...base, ...options });
  expect(sent(d.receive(S('220 mx.test ESMTP')))).toBe('EHLO client.test\r\n');
  expect(kinds(d.receive(S(...ehlo)))).toEqual(['ready']);
  return d;
}

function tx(recipients: string[], over: Partial<OutboundTransaction> = {}): OutboundTransaction {
  return {
    verb: 'MAIL',
    reversePath: path('sender@origin.test', 'reverse'),
    recipients: recipients.map((r) => path(r)),
    size: 42,
    eightBit: false,
    smtputf8: false,
    body: [Buffer.from('Subject: hi\r\n\r\nhello\r\n')],
    ...over,
  };
}

// --- session setup ------------------------------------------------------------

describe('ClientDialog session', () => {
  it('waits for the greeting, sends EHLO and reports the extensions', () => {
    const d = new ClientDialog(base);
    expect(d.state).toBe('greeting');
    expect(d.receive(S('220-mx.test ESMTP'))).toEqual([]);
    expect(sent(d.receive(S('220 more greeting')))).toBe('EHLO client.test\r\n');
    expect(d.state).toBe('ehlo');
    const ready = of(d.receive(S(...EHLO_FULL)), 'ready');
    expect(ready.extensions).toMatchObject({
      esmtp: true,
      pipelining: true,
      maxSize: 1000000,
      smtputf8: true,
    });
    expect(d.state).toBe('ready');
  });

  it('accepts replies split across any chunks', () => {
    const d = new ClientDialog(base);
    const bytes = Buffer.concat([S('220 mx.test ESMTP'), S(...EHLO_FULL)]);
    const out: ClientOutput[] = [];
    for (const b of bytes) out.push(...d.receive(Buffer.from([b])));
    expect(kinds(out)).toEqual(['send', 'ready']);
  });

  it.each([500, 501, 502, 504])('falls back to HELO when EHLO gets %i', (code) => {
    const d = new ClientDialog(base);
    d.receive(S('220 old.test'));
    expect(sent(d.receive(S(`${code} 5.5.1 What?`)))).toBe('HELO client.test\r\n');
    const ready = of(d.receive(S('250 old.test')), 'ready');
    expect(ready.extensions).toMatchObject({ esmtp: false, pipelining: false, size: false });
  });

  it('sends no MAIL parameters after HELO', () => {
    const d = new ClientDialog(base);
    d.receive(S('220 old.test'));
    d.receive(S('502 No'));
    d.receive(S('250 old.test'));
    const out = d.send(tx(['a@dest.test'], { eightBit: true }));
    expect(sent(out)).toBe('MAIL FROM:<sender@origin.test>\r\n');
  });

  it('fails when EHLO gets another refusal, or EHLO and HELO both are refused', () => {
    const d = new ClientDialog(base);
    d.receive(S('220 mx.test'));
    const out = d.receive(S('554 5.7.1 Go away'));
    expect(sent(out)).toBe('QUIT\r\n');
    expect(of(out, 'failed')).toMatchObject({
      stage: 'ehlo',
      reply: { code: 554 },
      synthetic: false,
    });
    expect(d.state).toBe('failed');
    expect(d.receive(S('221 bye'))).toEqual([]);

    const e = new ClientDialog(base);
    e.receive(S('220 mx.test'));
    e.receive(S('500 What?'));
    expect(of(e.receive(S('550 No HELO either')), 'failed')).toMatchObject({
      stage: 'helo',
      reply: { code: 550 },
    });
  });

  it('fails on a 5yz greeting with QUIT, and on 421 without', () => {
    const d = new ClientDialog(base);
    const out = d.receive(S('554 mx.test No service for you'));
    expect(sent(out)).toBe('QUIT\r\n');
    expect(of(out, 'failed')).toMatchObject({
      stage: 'greeting',
      reply: { code: 554, lines: ['mx.test No service for you'] },
    });

    const e = new ClientDialog(base);
    const out421 = e.receive(S('421 4.3.2 Busy'));
    expect(kinds(out421)).toEqual(['failed']);
    expect(of(out421, 'failed')).toMatchObject({
      stage: 'greeting',
      reply: { code: 421, enhanced: '4.3.2' },
    });
  });

  it('treats a garbage greeting as a protocol violation', () => {
    const d = new ClientDialog(base);
    const out = d.receive(Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'));
    expect(kinds(out)).toEqual(['failed']);
    expect(of(out, 'failed')).toMatchObject({
      stage: 'greeting',
      synthetic: true,
      reply: { code: 451, enhanced: '4.5.0' },
    });
  });

  it('refuses a malformed HELO name', () => {
    expect(() => new ClientDialog({ ...base, heloName: 'a b' })).toThrow(RangeError);
    expect(() => new ClientDialog({ ...base, heloName: 'a\r\nMAIL' })).toThrow(RangeError);
    expect(() => new ClientDialog({ ...base, heloName: '' })).toThrow(RangeError);
  });

  it('keeps an idle connection alive with NOOP', () => {
    const d = connected();
    expect(sent(d.noop())).toBe('NOOP\r\n');
    expect(d.state).toBe('noop');
    expect(kinds(d.receive(S('250 2.0.0 Ok')))).toEqual(['ready']);
    expect(sent(d.noop())).toBe('NOOP\r\n');
    expect(of(d.receive(S('500 5.5.2 No')), 'failed')).toMatchObject({ stage: 'noop' });
  });

  it('fails on an unsolicited reply while idle, but takes a 421 as the next hop closing', () => {
    const d = connected();
    expect(of(d.receive(S('250 surprise')), 'failed')).toMatchObject({
      stage: 'idle',
      synthetic: true,
    });
    const e = connected();
    expect(of(e.receive(S('421 4.4.2 Idle timeout')), 'failed')).toMatchObject({
      stage: 'idle',
      synthetic: false,
      reply: { code: 421 },
    });
  });

  it('says QUIT and closes on its reply, or when the peer closes first', () => {
    const d = connected();
    expect(sent(d.quit())).toBe('QUIT\r\n');
    expect(d.receive(S('221 2.0.0 Bye'))).toEqual([{ kind: 'close' }]);
    expect(d.state).toBe('closed');
    const e = connected();
    e.quit();
    expect(e.connectionLost()).toEqual([{ kind: 'close' }]);
    expect(() => e.send(tx(['a@dest.test']))).toThrow(/state closed/);
  });

  it('reports a lost connection during setup', () => {
    const d = new ClientDialog(base);
    d.receive(S('220 mx.test'));
    const out = d.connectionLost();
    expect(of(out, 'failed')).toMatchObject({
      stage: 'ehlo',
      synthetic: true,
      reply: { code: 421, enhanced: '4.4.2' },
    });
    expect(d.connectionLost()).toEqual([]);
  });

  it('refuses commands outside the ready state', () => {
    const d = new ClientDialog(base);
    expect(() => d.send(tx(['a@dest.test']))).toThrow(/state greeting/);
    expect(() => d.quit()).toThrow();
    expect(() => d.noop()).toThrow();
    expect(() => d.tlsStarted()).toThrow();
  });
});

// --- STARTTLS and AUTH ---------------------------------------------------------

describe('ClientDialog STARTTLS', () => {
  const ehloTls = ['250-mx.test', '250-PIPELINING', '250 STARTTLS'];

  it('upgrades, forgets the plaintext EHLO and says EHLO again', () => {
    const d = new ClientDialog({ ...base, tls: 'opportunistic' });
    d.receive(S('220 mx.test'));
    expect(sent(d.receive(S(...ehloTls)))).toBe('STARTTLS\r\n');
    expect(d.receive(S('220 2.0.0 Ready to start TLS'))).toEqual([{ kind: 'start-tls' }]);
    expect(d.state).toBe('tls-handshake');
    expect(sent(d.tlsStarted())).toBe('EHLO client.test\r\n');
    const ready = of(d.receive(S('250-mx.test', '250-SIZE 500', '250 AUTH PLAIN')), 'ready');
    // What was said before TLS is gone: no PIPELINING, no STARTTLS.
    expect(ready.extensions).toMatchObject({
      pipelining: false,
      startTls: false,
      maxSize: 500,
      auth: ['PLAIN'],
    });
  });

  it('fails on plaintext pipelined behind the STARTTLS reply (injection)', () => {
    const d = new ClientDialog({ ...base, tls: 'opportunistic' });
    d.receive(S('220 mx.test'));
    d.receive(S(...ehloTls));
    const out = d.receive(S('220 2.0.0 Go ahead', '250-evil.test', '250 AUTH PLAIN'));
    expect(kinds(out)).toEqual(['failed']);
    expect(of(out, 'failed')).toMatchObject({ stage: 'starttls', synthetic: true });
  });

  it('fails on bytes received between the STARTTLS reply and the handshake', () => {
    const d = new ClientDialog({ ...base, tls: 'opportunistic' });
    d.receive(S('220 mx.test'));
    d.receive(S(...ehloTls));
    d.receive(S('220 Go ahead'));
    expect(of(d.receive(S('250 hi')), 'failed')).toMatchObject({ stage: 'tls', synthetic: true });
  });

  it('requires TLS when told to: not offered, or refused', () => {
    const d = new ClientDialog({ ...base, tls: 'required' });
    d.receive(S('220 mx.test'));
    const out = d.receive(S('250-mx.test', '250 PIPELINING'));
    expect(sent(out)).toBe('QUIT\r\n');
    expect(of(out, 'failed')).toMatchObject({
      stage: 'ehlo',
      synthetic: true,
      reply: { code: 451, enhanced: '4.7.4' },
    });

    const e = new ClientDialog({ ...base, tls: 'required' });
    e.receive(S('220 mx.test'));
    e.receive(S(...ehloTls));
    const refused = of(e.receive(S('454 4.7.0 TLS not available')), 'failed');
    expect(refused).toMatchObject({
      stage: 'starttls',
      synthetic: true,
      reply: { code: 451, enhanced: '4.7.4' },
    });
    expect(refused.reply.lines[0]).toContain('454 4.7.0 TLS not available');

    const f = new ClientDialog({ ...base, tls: 'required' });
    f.receive(S('220 mx.test'));
    f.receive(S('502 No EHLO'));
    expect(of(f.receive(S('250 mx.test')), 'failed')).toMatchObject({
      stage: 'helo',
      reply: { enhanced: '4.7.4' },
    });
  });

  it('goes on in plaintext when opportunistic STARTTLS is refused', () => {
    const d = new ClientDialog({ ...base, tls: 'opportunistic' });
    d.receive(S('220 mx.test'));
    d.receive(S(...ehloTls));
    const ready = of(d.receive(S('454 4.7.0 Not now')), 'ready');
    expect(ready.extensions.pipelining).toBe(true);
  });

  it('does not STARTTLS on implicit TLS, nor when tls is none', () => {
    const d = new ClientDialog({ ...base, tls: 'required', tlsActive: true });
    d.receive(S('220 mx.test'));
    expect(kinds(d.receive(S(...ehloTls)))).toEqual(['ready']);
    const e = new ClientDialog(base);
    e.receive(S('220 mx.test'));
    expect(kinds(e.receive(S(...ehloTls)))).toEqual(['ready']);
  });
});

describe('ClientDialog AUTH', () => {
  const credentials = { username: 'user', password: 'pass' };
  const plain = Buffer.from('\0user\0pass').toString('base64');

  it('authenticates with PLAIN and an initial response, after TLS', () => {
    const d = new ClientDialog({ ...base, tls: 'required', tlsActive: true, credentials });
    d.receive(S('220 mx.test'));
    expect(sent(d.receive(S('250-mx.test', '250 AUTH LOGIN PLAIN')))).toBe(
      `AUTH PLAIN ${plain}\r\n`,
    );
    expect(d.state).toBe('auth');
    expect(kinds(d.receive(S('235 2.7.0 Authentication successful')))).toEqual(['ready']);
  });

  it('uses LOGIN when only LOGIN is offered', () => {
    const d = new ClientDialog({ ...base, tlsActive: true, credentials });
    d.receive(S('220 mx.test'));
    expect(sent(d.receive(S('250-mx.test', '250 AUTH=LOGIN')))).toBe('AUTH LOGIN\r\n');
    expect(sent(d.receive(S('334 VXNlcm5hbWU6')))).toBe('dXNlcg==\r\n');
    expect(sent(d.receive(S('334 UGFzc3dvcmQ6')))).toBe('cGFzcw==\r\n');
    expect(kinds(d.receive(S('235 2.7.0 Ok')))).toEqual(['ready']);
  });

  it('sends a long PLAIN response after an empty challenge', () => {
    const long = { username: 'u'.repeat(300), password: 'p'.repeat(300) };
    const d = new ClientDialog({ ...base, tlsActive: true, credentials: long });
    d.receive(S('220 mx.test'));
    expect(sent(d.receive(S('250-mx.test', '250 AUTH PLAIN')))).toBe('AUTH PLAIN\r\n');
    const response = Buffer.from(`\0${long.username}\0${long.password}`).toString('base64');
    expect(sent(d.receive(S('334 ')))).toBe(`${response}\r\n`);
    expect(kinds(d.receive(S('235 Ok')))).toEqual(['ready']);
  });

  it('fails on a challenge after the last response', () => {
    const d = new ClientDialog({ ...base, tlsActive: true, credentials });
    d.receive(S('220 mx.test'));
    d.receive(S('250-mx.test', '250 AUTH PLAIN'));
    expect(of(d.receive(S('334 ')), 'failed')).toMatchObject({ stage: 'auth', synthetic: true });
  });

  it('fails when the credentials are refused', () => {
    const d = new ClientDialog({ ...base, tlsActive: true, credentials });
    d.receive(S('220 mx.test'));
    d.receive(S('250-mx.test', '250 AUTH PLAIN'));
    const out = d.receive(S('535 5.7.8 Authentication credentials invalid'));
    expect(sent(out)).toBe('QUIT\r\n');
    expect(of(out, 'failed')).toMatchObject({
      stage: 'auth',
      synthetic: false,
      reply: { code: 535 },
    });
  });

  it('never sends credentials in plaintext unless allowed', () => {
    const d = new ClientDialog({ ...base, tls: 'opportunistic', credentials });
    d.receive(S('220 mx.test'));
    const out = d.receive(S('250-mx.test', '250 AUTH PLAIN'));
    expect(sent(out)).toBe('QUIT\r\n');
    expect(of(out, 'failed')).toMatchObject({
      stage: 'ehlo',
      synthetic: true,
      reply: { code: 451, enhanced: '4.7.0' },
    });

    const e = new ClientDialog({ ...base, credentials, allowPlaintextAuth: true });
    e.receive(S('220 mx.test'));
    expect(sent(e.receive(S('250-mx.test', '250 AUTH PLAIN')))).toBe(`AUTH PLAIN ${plain}\r\n`);
  });

  it('fails with a synthetic 4yz when no usable mechanism is offered', () => {
    for (const ehlo of [['250 mx.test'], ['250-mx.test', '250 AUTH CRAM-MD5 XOAUTH2']]) {
      const d = new ClientDialog({ ...base, tlsActive: true, credentials });
      d.receive(S('220 mx.test'));
      expect(of(d.receive(S(...ehlo)), 'failed')).toMatchObject({
        synthetic: true,
        reply: { code: 451 },
      });
    }
  });

  it('skips AUTH without credentials even when offered', () => {
    const d = new ClientDialog({ ...base, tlsActive: true, credentials: null });
    d.receive(S('220 mx.test'));
    expect(kinds(d.receive(S('250-mx.test', '250 AUTH PLAIN')))).toEqual(['ready']);
  });
});

// --- transactions ----------------------------------------------------------------

describe('ClientDialog transaction, pipelined', () => {
  it('sends MAIL, every RCPT and DATA in one batch, then the dot-stuffed body', () => {
    const d = connected();
    const body = [
      Buffer.from('Subject: x\r\n\r\n.hidden\r\n'),
      Buffer.from('..two\r\n.\r\nend\r\n'),
    ];
    const out = d.send(tx(['a@dest.test', 'b@dest.test'], { size: 4321, eightBit: true, body }));
    expect(out).toHaveLength(1);
    expect(sent(out)).toBe(
      'MAIL FROM:<sender@origin.test> SIZE=4321 BODY=8BITMIME\r\n' +
        'RCPT TO:<a@dest.test>\r\n' +
        'RCPT TO:<b@dest.test>\r\n' +
        'DATA\r\n',
    );
    expect(d.state).toBe('transaction');
    expect(d.receive(S('250 2.1.0 Ok', '250 2.1.5 Ok'))).toEqual([]);
    const data = d.receive(S('250 2.1.5 Ok', '354 Go ahead'));
    expect(sent(data)).toBe('Subject: x\r\n\r\n..hidden\r\n...two\r\n..\r\nend\r\n.\r\n');
    const done = of(d.receive(S('250 2.0.0 Ok: queued as 42')), 'transaction-done');
    expect(summary(done.outcomes)).toEqual([
      'a@dest.test data 250 2.0.0',
      'b@dest.test data 250 2.0.0',
    ]);
    expect(done.outcomes[0]?.reply.lines).toEqual(['Ok: queued as 42']);
    expect(done.verbUsed).toBe('MAIL');
    expect(d.state).toBe('ready');
  });

  it('gives mixed RCPT outcomes, 452 included, and the final reply to the accepted', () => {
    const d = connected();
    d.send(tx(['a@dest.test', 'b@dest.test', 'c@dest.test', 'd@dest.test']));
    const out = d.receive(
      S(
        '250 2.1.0 Ok',
        '250 2.1.5 Ok',
        '550 5.1.1 No such user',
        '452 4.5.3 Too many recipients',
        '250 Ok',
        '354 Go',
      ),
    );
    expect(sent(out)).toMatch(/\r\n\.\r\n$/);
    const done = of(d.receive(S('250 2.0.0 Queued')), 'transaction-done');
    expect(summary(done.outcomes)).toEqual([
      'a@dest.test data 250 2.0.0',
      'b@dest.test rcpt 550 5.1.1',
      'c@dest.test rcpt 452 4.5.3',
      'd@dest.test data 250 2.0.0',
    ]);
  });

  it('applies a MAIL refusal to every recipient and reads the rest of the batch', () => {
    const d = connected();
    d.send(tx(['a@dest.test', 'b@dest.test']));
    const out = d.receive(
      S('553 5.7.1 Sender refused', '503 5.5.1 Need MAIL', '503 5.5.1 Need MAIL'),
    );
    expect(out).toHaveLength(0);
    const done = of(d.receive(S('503 5.5.1 No valid recipients')), 'transaction-done');
    expect(summary(done.outcomes)).toEqual([
      'a@dest.test mail 553 5.7.1',
      'b@dest.test mail 553 5.7.1',
    ]);
  });

  it('ends an accepted DATA with a bare dot when no recipient was accepted', () => {
    const d = connected();
    d.send(tx(['a@dest.test']));
    const out = d.receive(S('250 Ok', '550 5.1.1 No', '354 Go ahead anyway'));
    expect(sent(out)).toBe('.\r\n');
    const done = of(d.receive(S('554 5.5.1 No valid recipients')), 'transaction-done');
    expect(summary(done.outcomes)).toEqual(['a@dest.test rcpt 550 5.1.1']);
  });

  it('applies a DATA refusal and a 4yz or 5yz end of data to the accepted recipients', () => {
    const d = connected();
    d.send(tx(['a@dest.test', 'b@dest.test']));
    const done = of(
      d.receive(S('250 Ok', '250 Ok', '550 5.1.1 No', '451 4.3.0 Try later')),
      'transaction-done',
    );
    expect(summary(done.outcomes)).toEqual([
      'a@dest.test data 451 4.3.0',
      'b@dest.test rcpt 550 5.1.1',
    ]);

    for (const final of ['451 4.3.0 Local error', '554 5.7.1 Spam']) {
      const e = connected();
      e.send(tx(['a@dest.test', 'b@dest.test']));
      e.receive(S('250 Ok', '250 Ok', '250 Ok', '354 Go'));
      const outcomes = of(e.receive(S(final)), 'transaction-done').outcomes;
      expect(outcomes.map((o) => [o.stage, o.reply.code])).toEqual([
        ['data', Number(final.slice(0, 3))],
        ['data', Number(final.slice(0, 3))],
      ]);
    }
  });

  it('ends the session on a 421 mid-transaction, giving pending recipients the 421', () => {
    const d = connected();
    d.send(tx(['a@dest.test', 'b@dest.test', 'c@dest.test']));
    const out = d.receive(S('250 Ok', '250 Ok', '550 5.1.1 No', '421 4.3.2 Shutting down'));
    expect(kinds(out)).toEqual(['transaction-done', 'failed']);
    expect(summary(of(out, 'transaction-done').outcomes)).toEqual([
      'a@dest.test rcpt 421 4.3.2',
      'b@dest.test rcpt 550 5.1.1',
      'c@dest.test rcpt 421 4.3.2',
    ]);
    expect(of(out, 'failed')).toMatchObject({
      stage: 'rcpt',
      reply: { code: 421 },
      synthetic: false,
    });
    expect(d.receive(S('250 late'))).toEqual([]);

    const e = connected();
    e.send(tx(['a@dest.test']));
    e.receive(S('250 Ok', '250 Ok', '354 Go'));
    const late = e.receive(S('421 4.4.2 Timeout'));
    expect(summary(of(late, 'transaction-done').outcomes)).toEqual(['a@dest.test data 421 4.4.2']);
    expect(of(late, 'failed').stage).toBe('data');
  });

  it('gives pending recipients a synthetic 421 4.4.2 when the connection is lost', () => {
    const d = connected();
    d.send(tx(['a@dest.test', 'b@dest.test']));
    d.receive(S('250 Ok', '250 Ok', '550 5.1.1 No', '354 Go'));
    const out = d.connectionLost();
    expect(summary(of(out, 'transaction-done').outcomes)).toEqual([
      'a@dest.test connection 421 4.4.2 synthetic',
      'b@dest.test rcpt 550 5.1.1',
    ]);
    expect(of(out, 'failed')).toMatchObject({ stage: 'data', synthetic: true });
  });

  it('treats a reply that makes no sense for its command as a protocol violation', () => {
    for (const replies of [
      ['250 Ok', '250 Ok', '250 Ok'],
      ['250 Ok', '354 what', '354 Go'],
      ['garbage'],
    ]) {
      const d = connected();
      d.send(tx(['a@dest.test']));
      const out = d.receive(S(...replies));
      expect(kinds(out)).toEqual(['transaction-done', 'failed']);
      expect(summary(of(out, 'transaction-done').outcomes)).toEqual([
        'a@dest.test connection 451 4.5.0 synthetic',
      ]);
    }
    const e = connected();
    e.send(tx(['a@dest.test']));
    e.receive(S('250 Ok', '250 Ok', '354 Go'));
    expect(of(e.receive(S('354 again')), 'failed').synthetic).toBe(true);
    const f = connected();
    f.send(tx(['a@dest.test']));
    f.receive(S('250 Ok', '250 Ok', '354 Go'));
    f.receive(S('250 Ok'));
    expect(of(f.receive(S('250 one too many')), 'failed')).toMatchObject({ stage: 'idle' });
  });

  it('sends RSET first when the connection is reused', () => {
    const d = connected();
    d.send(tx(['a@dest.test']));
    d.receive(S('250 Ok', '250 Ok', '354 Go'));
    d.receive(S('250 Ok'));
    expect(sent(d.send(tx(['b@dest.test'])))).toBe(
      'RSET\r\nMAIL FROM:<sender@origin.test> SIZE=42\r\nRCPT TO:<b@dest.test>\r\nDATA\r\n',
    );
    d.receive(S('250 2.0.0 Ok', '250 Ok', '250 Ok', '354 Go'));
    expect(summary(of(d.receive(S('250 Ok')), 'transaction-done').outcomes)).toEqual([
      'b@dest.test data 250',
    ]);
  });

  it('fails when RSET is refused', () => {
    const d = connected();
    d.send(tx(['a@dest.test']));
    d.receive(S('250 Ok', '250 Ok', '354 Go'));
    d.receive(S('250 Ok'));
    d.send(tx(['b@dest.test']));
    const out = d.receive(S('500 What RSET?'));
    expect(summary(of(out, 'transaction-done').outcomes)).toEqual([
      'b@dest.test connection 451 4.5.0 synthetic',
    ]);
  });

  it('retries SOML and SAML refused with 500/502 as MAIL', () => {
    for (const verb of ['SOML', 'SAML'] as const) {
      const d = connected();
      expect(sent(d.send(tx(['a@dest.test'], { verb })))).toMatch(
        new RegExp(`^${verb} FROM:<sender@origin.test>`),
      );
      const retry = d.receive(
        S('502 5.5.1 Not implemented', '503 5.5.1 Need MAIL', '503 5.5.1 Need MAIL'),
      );
      expect(sent(retry)).toBe(
        'RSET\r\nMAIL FROM:<sender@origin.test> SIZE=42\r\nRCPT TO:<a@dest.test>\r\nDATA\r\n',
      );
      d.receive(S('250 Ok', '250 Ok', '250 Ok', '354 Go'));
      const done = of(d.receive(S('250 Ok')), 'transaction-done');
      expect(done.verbUsed).toBe('MAIL');
      expect(summary(done.outcomes)).toEqual(['a@dest.test data 250']);
    }
  });

  it('keeps SOML when the next hop takes it, and reports a refused SEND', () => {
    const d = connected();
    d.send(tx(['a@dest.test'], { verb: 'SOML' }));
    d.receive(S('250 Ok', '250 Ok', '354 Go'));
    expect(of(d.receive(S('250 Ok')), 'transaction-done').verbUsed).toBe('SOML');

    const e = connected();
    e.send(tx(['a@dest.test', 'b@dest.test'], { verb: 'SEND' }));
    const done = of(
      e.receive(S('502 5.5.1 No SEND', '503 x', '503 x', '503 x')),
      'transaction-done',
    );
    expect(done.verbUsed).toBe('SEND');
    expect(summary(done.outcomes)).toEqual([
      'a@dest.test mail 502 5.5.1',
      'b@dest.test mail 502 5.5.1',
    ]);
  });
});

describe('ClientDialog transaction, lock-step', () => {
  it('sends each command only after the previous reply', () => {
    const d = connected(EHLO_PLAIN);
    expect(sent(d.send(tx(['a@dest.test', 'b@dest.test'])))).toBe(
      'MAIL FROM:<sender@origin.test>\r\n',
    );
    expect(sent(d.receive(S('250 Ok')))).toBe('RCPT TO:<a@dest.test>\r\n');
    expect(sent(d.receive(S('550 No')))).toBe('RCPT TO:<b@dest.test>\r\n');
    expect(sent(d.receive(S('250 Ok')))).toBe('DATA\r\n');
    expect(sent(d.receive(S('354 Go')))).toBe('Subject: hi\r\n\r\nhello\r\n.\r\n');
    const done = of(d.receive(S('250 Queued')), 'transaction-done');
    expect(summary(done.outcomes)).toEqual(['a@dest.test rcpt 550', 'b@dest.test data 250']);
  });

  it('does not pipeline when told not to, even when offered', () => {
    const d = connected(EHLO_FULL, { pipelining: false });
    expect(sent(d.send(tx(['a@dest.test'])))).toBe('MAIL FROM:<sender@origin.test> SIZE=42\r\n');
  });

  it('stops after a MAIL refusal, and skips DATA when no recipient was accepted', () => {
    const d = connected(EHLO_PLAIN);
    d.send(tx(['a@dest.test', 'b@dest.test']));
    const done = of(d.receive(S('451 4.7.1 Greylisted')), 'transaction-done');
    expect(summary(done.outcomes)).toEqual([
      'a@dest.test mail 451 4.7.1',
      'b@dest.test mail 451 4.7.1',
    ]);

    expect(sent(d.send(tx(['c@dest.test'])))).toBe('RSET\r\n');
    expect(sent(d.receive(S('250 Ok')))).toBe('MAIL FROM:<sender@origin.test>\r\n');
    d.receive(S('250 Ok'));
    const none = d.receive(S('550 5.1.1 No'));
    expect(sent(none)).toBe('');
    expect(summary(of(none, 'transaction-done').outcomes)).toEqual(['c@dest.test rcpt 550 5.1.1']);
  });

  it('retries SOML as MAIL with RSET first', () => {
    const d = connected(EHLO_PLAIN);
    expect(sent(d.send(tx(['a@dest.test'], { verb: 'SAML' })))).toBe(
      'SAML FROM:<sender@origin.test>\r\n',
    );
    expect(sent(d.receive(S('500 5.5.2 Unrecognized')))).toBe('RSET\r\n');
    expect(sent(d.receive(S('250 Ok')))).toBe('MAIL FROM:<sender@origin.test>\r\n');
  });
});

describe('ClientDialog extension checks', () => {
  it('refuses every recipient with a synthetic 552 5.3.4 when the message exceeds SIZE, sending nothing', () => {
    const d = connected();
    const out = d.send(tx(['a@dest.test', 'b@dest.test'], { size: 1000001 }));
    expect(sent(out)).toBe('');
    expect(summary(of(out, 'transaction-done').outcomes)).toEqual([
      'a@dest.test extension 552 5.3.4 synthetic',
      'b@dest.test extension 552 5.3.4 synthetic',
    ]);
    expect(d.state).toBe('ready');
    // Nothing was sent, so no RSET is needed for the next one.
    expect(sent(d.send(tx(['a@dest.test'], { size: 1000000 })))).toMatch(/^MAIL FROM/);
  });

  it('refuses every recipient with a synthetic 553 5.6.7 when SMTPUTF8 is needed and not offered', () => {
    const d = connected(EHLO_PLAIN);
    const out = d.send(tx(['a@dest.test'], { smtputf8: true }));
    expect(sent(out)).toBe('');
    expect(summary(of(out, 'transaction-done').outcomes)).toEqual([
      'a@dest.test extension 553 5.6.7 synthetic',
    ]);
    // A non-ASCII path needs it whatever the flag says.
    const utf8 = of(d.send(tx(['jösé@dest.test'])), 'transaction-done');
    expect(utf8.outcomes[0]?.reply.code).toBe(553);
  });

  it('adds SMTPUTF8 to MAIL when needed and offered', () => {
    const d = connected();
    expect(sent(d.send(tx(['jösé@dést.test'])))).toBe(
      'MAIL FROM:<sender@origin.test> SIZE=42 SMTPUTF8\r\nRCPT TO:<jösé@dést.test>\r\nDATA\r\n',
    );
  });

  it('sends an 8-bit body without BODY=8BITMIME when the next hop lacks 8BITMIME', () => {
    const d = connected(['250-mx.test', '250 PIPELINING']);
    const body = [Buffer.from('Subject: caf\xe9\r\n\r\nna\xefve\r\n', 'latin1')];
    const first = sent(d.send(tx(['a@dest.test'], { eightBit: true, body })));
    expect(first).toBe('MAIL FROM:<sender@origin.test>\r\nRCPT TO:<a@dest.test>\r\nDATA\r\n');
    const data = d.receive(S('250 Ok', '250 Ok', '354 Go'));
    expect(Buffer.concat(of(data, 'send').data)).toEqual(
      Buffer.concat([body[0] as Buffer, Buffer.from('.\r\n')]),
    );
  });

  it('never writes a path that could smuggle a command, and stays usable', () => {
    const d = connected();
    const evil: Path = {
      route: [],
      raw: 'x',
      mailbox: {
        localPart: 'a>\r\nRCPT TO:<b',
        quoted: true,
        domain: 'dest.test',
        addressLiteral: null,
        utf8: false,
      },
    };
    expect(() => d.send({ ...tx(['a@dest.test']), recipients: [evil] })).toThrow(RangeError);
    expect(d.state).toBe('ready');
    expect(sent(d.send(tx(['a@dest.test'])))).toMatch(
      /^MAIL FROM:<sender@origin.test> SIZE=42\r\n/,
    );
  });

  it('refuses an empty or oversized recipient list', () => {
    const d = connected();
    expect(() => d.send(tx([]))).toThrow(RangeError);
    const many = Array.from({ length: 101 }, (_, i) => `r${i}@dest.test`);
    expect(() => d.send(tx(many))).toThrow(RangeError);
    expect(d.state).toBe('ready');
    const e = connected(EHLO_FULL, { limits: { recipients: 2 } });
    expect(() => e.send(tx(['a@d.test', 'b@d.test', 'c@d.test']))).toThrow(/1 to 2/);
    expect(sent(e.send(tx(many.slice(0, 2))))).toMatch(/^MAIL/);
  });
});

// --- invariants under an arbitrary next hop ---------------------------------------

describe('ClientDialog against an arbitrary next hop (property)', () => {
  const replies = [
    '220 mx.test',
    '250 Ok',
    '250-mx.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN',
    '354 Go',
    '334 VXNlcm5hbWU6',
    '235 Ok',
    '221 Bye',
    '421 4.3.2 Bye',
    '450 4.2.0 Busy',
    '452 4.5.3 Too many',
    '500 What',
    '502 No',
    '550 5.1.1 No',
    '554 5.7.1 No',
    'garbage',
  ];
  type Action =
    { kind: 'reply'; text: string } | { kind: 'send' | 'quit' | 'noop' | 'lost' | 'tls' };
  const action: fc.Arbitrary<Action> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .array(fc.constantFrom(...replies), { minLength: 1, maxLength: 4 })
        .map((rs) => ({ kind: 'reply' as const, text: rs.map((r) => `${r}\r\n`).join('') })),
    },
    {
      weight: 3,
      arbitrary: fc.constantFrom('send', 'send', 'quit', 'noop', 'tls').map((kind) => ({ kind })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'lost' as const }) },
  );

  let totalSends = 0;
  it('never throws on input, writes only whole CRLF lines, gives one transaction-done per send', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('none', 'opportunistic', 'required') as fc.Arbitrary<ClientOptions['tls']>,
        fc.boolean(),
        fc.constantFrom(null, EHLO_FULL, EHLO_PLAIN),
        fc.array(action, { maxLength: 40 }),
        (tls, creds, established, actions) => {
          const d = new ClientDialog(
            established === null
              ? {
                  ...base,
                  tls,
                  credentials: creds ? { username: 'u', password: 'p' } : null,
                  allowPlaintextAuth: true,
                }
              : base,
          );
          // Half the runs start from an established session, to reach transactions often.
          if (established !== null) d.receive(Buffer.concat([S('220 mx.test'), S(...established)]));
          let sends = 0;
          let dones = 0;
          const check = (outs: ClientOutput[]) => {
            for (const o of outs) {
              if (o.kind === 'transaction-done') {
                dones++;
                expect(o.outcomes).toHaveLength(2);
              }
              // Commands and the (CRLF-clean) body alike: whole CRLF lines, no stray CR or LF.
              if (o.kind === 'send') {
                expect(Buffer.concat(o.data).toString('latin1')).toMatch(/^([^\r\n]*\r\n)+$/);
              }
            }
          };
          for (const a of actions) {
            if (a.kind === 'reply') check(d.receive(Buffer.from(a.text)));
            else if (a.kind === 'lost') check(d.connectionLost());
            else if (a.kind === 'tls' && d.state === 'tls-handshake') check(d.tlsStarted());
            else if (d.state === 'ready') {
              if (a.kind === 'send') {
                sends++;
                check(d.send(tx(['a@dest.test', 'b@dest.test'])));
              } else if (a.kind === 'quit') check(d.quit());
              else if (a.kind === 'noop') check(d.noop());
            }
          }
          check(d.connectionLost());
          expect(dones).toBe(sends);
          totalSends += sends;
        },
      ),
      { numRuns: 10_000 },
    );
    // The generator does reach transactions.
    expect(totalSends).toBeGreaterThan(100);
  });
});
