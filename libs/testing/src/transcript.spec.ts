import { describe, expect, it } from 'vitest';
import { matchReplyLine, parseTranscript, unescapeBytes } from './transcript.js';

describe('parseTranscript', () => {
  it('reads every tag, with line numbers, and skips comments and blank lines', () => {
    const steps = parseTranscript(
      [
        '# a comment',
        'O: limits.messageSize=20',
        'H: rcpt ~busy -> defer 450 4.2.1 Mailbox busy',
        '',
        'C: HELO client.test',
        'C! a\\r\\n',
        'S: 250 *',
        'A: store',
        'A: body x\\r\\n',
        'X: drain',
      ].join('\n'),
    );
    expect(steps).toEqual([
      { kind: 'option', key: 'limits.messageSize', value: '20', line: 2 },
      {
        kind: 'host',
        question: 'rcpt',
        match: 'busy',
        verdict: 'defer 450 4.2.1 Mailbox busy',
        line: 3,
      },
      { kind: 'client', bytes: Buffer.from('HELO client.test\r\n'), line: 5 },
      { kind: 'client', bytes: Buffer.from('a\r\n'), line: 6 },
      { kind: 'server', pattern: '250 *', line: 7 },
      { kind: 'action', action: 'store', line: 8 },
      { kind: 'body', bytes: Buffer.from('x\r\n'), line: 9 },
      { kind: 'event', event: 'drain', line: 10 },
    ]);
  });

  it('repeats a {a..b} client line with the S:/A: block after it', () => {
    const steps = parseTranscript('C: RCPT TO:<r{1..3}@x.test>\nS: 250 *\nC: DATA\n');
    expect(steps.map((s) => (s.kind === 'client' ? s.bytes.toString() : s.kind))).toEqual([
      'RCPT TO:<r1@x.test>\r\n',
      'server',
      'RCPT TO:<r2@x.test>\r\n',
      'server',
      'RCPT TO:<r3@x.test>\r\n',
      'server',
      'DATA\r\n',
    ]);
    expect(steps.every((s, i) => i === 6 || s.line === 1)).toBe(true);
  });

  it('refuses an unknown tag or question, naming the line', () => {
    expect(() => parseTranscript('S: 220 *\nQ: what')).toThrow(/line 2: unknown tag "Q:"/);
    expect(() => parseTranscript('H: vrfy -> accept')).toThrow(/line 1: unknown question "vrfy"/);
  });
});

describe('unescapeBytes', () => {
  it('decodes the escapes and keeps UTF-8 as UTF-8', () => {
    expect(unescapeBytes('a\\r\\n\\0\\t\\\\\\x7fé')).toEqual(
      Buffer.from([0x61, 13, 10, 0, 9, 92, 0x7f, 0xc3, 0xa9]),
    );
    expect(() => unescapeBytes('\\q')).toThrow(/bad escape/);
  });
});

describe('matchReplyLine', () => {
  it.each([
    ['250 *', '250 2.1.0 Ok', true],
    ['250 *', '250-PIPELINING', false],
    ['250-*', '250-PIPELINING', true],
    ['4yz *', '451 4.3.0 Try later', true],
    ['4yz *', '554 5.7.1 Relay access denied', false],
    ['5yz 5.7.1 *', '554 5.7.1 Relay access denied', true],
    ['250 2.0.0 Ok', '250 2.0.0 Ok', true],
    ['250 2.0.0 Ok', '250 2.0.0 Okay', false],
  ])('%s against %s: %s', (pattern, actual, expected) => {
    expect(matchReplyLine(pattern, actual)).toBe(expected);
  });
});
