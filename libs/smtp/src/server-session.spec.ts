import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reply } from './replies.js';
import { ServerSession, type ServerOptions, type ServerOutput } from './server-session.js';
import type { Verdict } from './server-questions.js';

const opts: ServerOptions = { hostname: 'mx.petrel.test' };
const texts = (outs: ServerOutput[]) =>
  outs.flatMap((o) => (o.kind === 'reply' ? [o.text] : [`<${o.kind}>`]));
const b = (s: string) => Buffer.from(s, 'latin1');

describe('ServerSession pauses while a question is open', () => {
  it('buffers pipelined input until the answer, then processes it in order', () => {
    const s = new ServerSession(opts);
    s.greet();
    const first = s.receive(
      b('HELO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@example.test>\r\nNOOP\r\n'),
    );
    expect(texts(first)).toEqual(['250 mx.petrel.test\r\n', '<question>']);
    expect(s.phase).toBe('question');
    // More input while paused is only buffered.
    expect(s.receive(b('RSET\r\n'))).toEqual([]);
    const second = s.answer({ kind: 'accept' });
    expect(texts(second)).toEqual(['250 2.1.0 Ok\r\n', '<question>']);
    const third = s.answer({ kind: 'accept' });
    expect(texts(third)).toEqual(['250 2.1.5 Ok\r\n', '250 2.0.0 Ok\r\n', '250 2.0.0 Ok\r\n']);
  });

  it('refuses an answer when no question is open, and a second greeting', () => {
    const s = new ServerSession(opts);
    expect(() => s.answer({ kind: 'accept' })).toThrow(/no question/);
    s.greet();
    expect(() => s.greet()).toThrow();
  });

  it('holds input received before the greeting and answers it after', () => {
    const s = new ServerSession(opts);
    expect(s.receive(b('NOOP\r\n'))).toEqual([]);
    expect(texts(s.greet())).toEqual(['220 mx.petrel.test ESMTP\r\n', '250 2.0.0 Ok\r\n']);
  });

  it('refuses a connection with the given reply and closes', () => {
    const s = new ServerSession(opts);
    expect(texts(s.refuse(reply('serviceUnavailable')))).toEqual([
      '421 4.3.2 Service not available, closing transmission channel\r\n',
      '<close>',
    ]);
    expect(s.receive(b('NOOP\r\n'))).toEqual([]);
  });
});

describe('ServerSession state the host reads', () => {
  it('reports the HELO name, TLS, AUTH identity and which timeout applies', () => {
    const s = new ServerSession({ ...opts, auth: 'always' });
    s.greet();
    expect(s.timeoutKind).toBe('command');
    s.receive(b('EHLO client.test\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n'));
    expect(s.helo).toEqual({ verb: 'EHLO', name: 'client.test' });
    expect(s.timeoutKind).toBeNull();
    s.answer({ kind: 'accept' });
    expect(s.authenticated).toBe('alice');
    expect(s.tlsActive).toBe(false);
    s.receive(b('MAIL FROM:<a@c.test>\r\n'));
    s.answer({ kind: 'accept' });
    s.receive(b('RCPT TO:<b@example.test>\r\n'));
    s.answer({ kind: 'accept' });
    s.receive(b('DATA\r\nSubject: x\r\n'));
    expect(s.timeoutKind).toBe('data-block');
  });

  it('drops plaintext that arrives after STARTTLS until the handshake, then starts over', () => {
    const s = new ServerSession({ ...opts, starttls: true });
    s.greet();
    expect(texts(s.receive(b('EHLO c.test\r\nSTARTTLS\r\nMAIL FROM:<x@c.test>\r\n')))).toContain(
      '<start-tls>',
    );
    expect(s.receive(b('RCPT TO:<v@example.test>\r\n'))).toEqual([]);
    expect(texts(s.tlsStarted())).toEqual([]);
    expect(s.tlsActive).toBe(true);
    expect(s.helo).toBeNull();
    expect(texts(s.receive(b('MAIL FROM:<a@c.test>\r\n')))).toEqual([
      '503 5.5.1 Bad sequence of commands\r\n',
    ]);
  });

  it('names the verb each reply answers, for the commands-by-verb metric', () => {
    const s = new ServerSession(opts);
    const greeting = s.greet();
    expect(greeting[0]).toMatchObject({ kind: 'reply', verb: null });
    const outs = s.receive(b('NOOP\r\nBOGUS\r\nVRFY x\r\n'));
    expect(outs.map((o) => (o.kind === 'reply' ? o.verb : o.kind))).toEqual(['NOOP', null, 'VRFY']);
  });
});

// A random dialog of plausible and implausible commands, pipelined and cut
// into random chunks, gets the same outputs as when it arrives whole.
const commandLine = fc.oneof(
  fc.constantFrom(
    'EHLO c.test',
    'HELO c.test',
    'MAIL FROM:<a@c.test>',
    'MAIL FROM:<>',
    'RCPT TO:<b@example.test>',
    'RCPT TO:<postmaster>',
    'RSET',
    'NOOP',
    'VRFY x',
    'EXPN y',
    'HELP',
    'BOGUS',
    'MAIL FROM:a',
    'RCPT TO:<>',
    'SEND FROM:<a@c.test>',
    'DATA\r\nSubject: s\r\n\r\n..dot\r\n.',
    'DATA\r\nbad\nline\r\n.',
    'STARTTLS',
    'TURN',
  ),
  fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, '')),
);

function runWhole(lines: string[], verdicts: Verdict[], cuts: number[]): string[] {
  const s = new ServerSession(opts);
  const out: string[] = [];
  let v = 0;
  const take = (outs: ServerOutput[]): void => {
    for (const o of outs) {
      if (o.kind === 'question')
        take(
          s.answer(
            o.question.kind === 'store' && verdicts[v % verdicts.length]!.kind === 'accept'
              ? { kind: 'accept', queueId: 'Q' }
              : verdicts[v++ % verdicts.length]!,
          ),
        );
      else out.push(o.kind === 'reply' ? o.text : `<${o.kind}>`);
    }
  };
  take(s.greet());
  const input = b(lines.map((l) => `${l}\r\n`).join(''));
  let at = 0;
  for (const cut of [
    ...cuts.map((c) => c % (input.length + 1)).sort((x, y) => x - y),
    input.length,
  ]) {
    if (cut < at) continue;
    take(s.receive(input.subarray(at, cut)));
    at = cut;
  }
  return out;
}

describe('ServerSession property', () => {
  it('gives the same replies however the pipelined input is chunked', () => {
    const verdict = fc.constantFrom<Verdict>(
      { kind: 'accept' },
      { kind: 'reject' },
      { kind: 'defer' },
    );
    fc.assert(
      fc.property(
        fc.array(commandLine, { maxLength: 25 }),
        fc.array(verdict, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (lines, verdicts, cuts) => {
          const whole = runWhole(lines, verdicts, []);
          expect(runWhole(lines, verdicts, cuts)).toEqual(whole);
          // Exactly one reply per command line until the session closes (a DATA
          // body line is not a command; its reply comes at the end of DATA).
          for (const text of whole)
            expect(text === '<close>' || text === '<start-tls>' || /^\d{3}[ -]/.test(text)).toBe(
              true,
            );
        },
      ),
      { numRuns: 10_000 },
    );
  });
});

describe('ServerSession shutdown', () => {
  it('says 421 and closes at once, and reports whether a transaction is open', () => {
    const s = new ServerSession(opts);
    s.greet();
    s.receive(b('HELO c.test\r\nMAIL FROM:<a@c.test>\r\n'));
    s.answer({ kind: 'accept' });
    expect(s.inTransaction).toBe(true);
    s.receive(b('RSET\r\n'));
    expect(s.inTransaction).toBe(false);
    expect(texts(s.shutdown())).toEqual([
      '421 4.3.2 mx.petrel.test Service shutting down, closing transmission channel\r\n',
      '<close>',
    ]);
    expect(s.shutdown()).toEqual([]);
  });
});
