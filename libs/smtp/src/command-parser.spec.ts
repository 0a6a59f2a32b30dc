import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pathArb, ROOMY_LIMITS } from '../test/support/path-arbitraries.js';
import {
  parseCommand,
  VERBS,
  type Command,
  type ParseContext,
  type ParseResult,
} from './command-parser.js';
import { DEFAULT_LIMITS } from './limits.js';
import { encodeXtext } from './mail-parameters.js';
import { formatPath } from './path-parser.js';
import { REPLY_CATALOGUE, type ReplyName } from './replies.js';
import type { MailParameters } from './types.js';

const EHLO_CTX: ParseContext = {
  extended: true,
  smtputf8: true,
  utf8Transaction: false,
  authOffered: true,
  limits: DEFAULT_LIMITS,
};
const HELO_CTX: ParseContext = {
  ...EHLO_CTX,
  extended: false,
  smtputf8: false,
  authOffered: false,
};
const UTF8_TX: ParseContext = { ...EHLO_CTX, utf8Transaction: true };

function parse(line: string | Buffer, ctx: ParseContext = EHLO_CTX): ParseResult {
  return parseCommand(typeof line === 'string' ? Buffer.from(line, 'utf8') : line, ctx);
}

function command(line: string | Buffer, ctx: ParseContext = EHLO_CTX): Command {
  const r = parse(line, ctx);
  if (!r.ok) throw new Error(`${String(line)}: ${r.reply.code} ${r.reply.name}`);
  return r.command;
}

/** The catalogue name of the refusal, or 'ok'. */
function refusal(line: string | Buffer, ctx: ParseContext = EHLO_CTX): ReplyName | 'custom' | 'ok' {
  const r = parse(line, ctx);
  return r.ok ? 'ok' : r.reply.name;
}

function bytes(...parts: (string | number[])[]): Buffer {
  return Buffer.concat(
    parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))),
  );
}

describe('parseCommand: verbs', () => {
  it('exports every verb once', () => {
    expect(new Set(VERBS).size).toBe(17);
  });

  it.each([
    ['EHLO client.example', { verb: 'EHLO', domain: 'client.example' }],
    ['HELO client.example', { verb: 'HELO', domain: 'client.example' }],
    ['ehlo [192.0.2.1]', { verb: 'EHLO', domain: '[192.0.2.1]' }],
    ['EHLO  first second  ', { verb: 'EHLO', domain: 'first' }],
    ['DATA', { verb: 'DATA' }],
    ['data  ', { verb: 'DATA' }],
    ['RSET', { verb: 'RSET' }],
    ['QUIT', { verb: 'QUIT' }],
    ['TURN', { verb: 'TURN' }],
    ['STARTTLS', { verb: 'STARTTLS' }],
    ['StartTls', { verb: 'STARTTLS' }],
    ['VRFY postmaster', { verb: 'VRFY', argument: 'postmaster' }],
    ['VRFY  John Smith  ', { verb: 'VRFY', argument: 'John Smith' }],
    ['EXPN staff-list', { verb: 'EXPN', argument: 'staff-list' }],
    ['VRFY jörg', { verb: 'VRFY', argument: 'jörg' }],
    ['HELP', { verb: 'HELP', argument: null }],
    ['HELP MAIL', { verb: 'HELP', argument: 'MAIL' }],
    ['NOOP', { verb: 'NOOP', argument: null }],
    ['noop  ', { verb: 'NOOP', argument: null }],
    ['NOOP a b', { verb: 'NOOP', argument: 'a b' }],
    ['NOOP \ufeffx', { verb: 'NOOP', argument: '\ufeffx' }],
    ['AUTH plain', { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: null }],
    [
      'AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=',
      { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: 'dGVzdAB0ZXN0AHRlc3Q=' },
    ],
    ['AUTH PLAIN =', { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: '=' }],
    ['AUTH scram-sha-256  ', { verb: 'AUTH', mechanism: 'SCRAM-SHA-256', initialResponse: null }],
    ['AUTH X_Y', { verb: 'AUTH', mechanism: 'X_Y', initialResponse: null }],
    [`AUTH ${'A'.repeat(20)}`, { verb: 'AUTH', mechanism: 'A'.repeat(20), initialResponse: null }],
  ] as [string, Command][])('%j', (line, expected) => {
    expect(command(line)).toEqual(expected);
  });

  it.each([
    '',
    'X',
    'XYZ',
    'LHLO x',
    'MAILFROM:<a@b.org>',
    'DATAX',
    'HELO\tx',
    'STAR',
    'STARTTL',
    'STARTTLSX',
    ' NOOP',
    'NO OP',
    'ÉHLO x',
  ])('refuses %j with 500 5.5.2 and no verb', (line) => {
    const r = parse(line);
    expect(r).toMatchObject({
      ok: false,
      verb: null,
      reply: { code: 500, enhanced: '5.5.2', name: 'unknownCommand' },
    });
  });

  it.each([
    ['HELO', 'HELO'],
    ['EHLO   ', 'EHLO'],
    ['VRFY', 'VRFY'],
    ['EXPN ', 'EXPN'],
    ['AUTH', 'AUTH'],
    ['MAIL', 'MAIL'],
    ['RCPT', 'RCPT'],
    ['DATA x', 'DATA'],
    ['RSET x', 'RSET'],
    ['QUIT now', 'QUIT'],
    ['TURN x', 'TURN'],
    ['STARTTLS x', 'STARTTLS'],
    ['EHLO exämple.de', 'EHLO'],
    ['AUTH PLAIN a b', 'AUTH'],
    ['AUTH PL@IN', 'AUTH'],
    ['AUTH PLAIN:x', 'AUTH'],
    [`AUTH ${'A'.repeat(21)}`, 'AUTH'],
    ['AUTH PLAIN dé', 'AUTH'],
  ])('refuses %j with 501 5.5.4 (missing or extra argument)', (line, verb) => {
    expect(parse(line)).toMatchObject({
      ok: false,
      verb,
      reply: { code: 501, enhanced: '5.5.4', name: 'syntaxError' },
    });
  });
});

describe('parseCommand: forbidden octets', () => {
  it.each([
    [bytes('MAIL FROM:<a', [0], 'b@x.org>'), 'MAIL'],
    [bytes('NOOP', [0x0d]), null],
    [bytes('NOOP x', [0x0d]), 'NOOP'],
    [bytes('RCPT TO:<a@x.org>', [0x0a]), 'RCPT'],
    [bytes('EHLO a', [0x0d, 0x0a], 'MAIL FROM:<>'), 'EHLO'],
    [bytes([0]), null],
    [bytes('XXXX ', [0x0a]), null],
    [bytes('DATA', [0x00]), null],
  ])('refuses NUL, CR or LF with 501 5.5.2 (%#)', (line, verb) => {
    expect(parse(line)).toMatchObject({
      ok: false,
      verb,
      reply: { code: 501, enhanced: '5.5.2', name: 'badCharacter' },
    });
  });

  it.each([
    [bytes('NOOP a', [0x09], 'b'), 'NOOP'],
    [bytes('HELO a', [0x7f]), 'HELO'],
    [bytes('MAIL FROM:<a@x.org>', [0x09], 'SIZE=1'), 'MAIL'],
    [bytes('VRFY ', [0x1b], '[31m'), 'VRFY'],
  ])('refuses other control octets with 501 5.5.4 (%#)', (line, verb) => {
    expect(parse(line)).toMatchObject({
      ok: false,
      verb,
      reply: { code: 501, name: 'syntaxError' },
    });
  });

  it.each([
    [bytes('MAIL FROM:<', [0xff], '@x.org> SMTPUTF8')],
    [bytes('MAIL FROM:<', [0xc0, 0x80], '@x.org> SMTPUTF8')],
    [bytes('RCPT TO:<', [0xed, 0xa0, 0x80], '@x.org>')],
    [bytes('NOOP ', [0xe4, 0xb8])],
    [bytes('HELP ', [0xf8, 0x88, 0x80, 0x80, 0x80])],
  ])('refuses invalid UTF-8 with 501 5.5.4 (%#)', (line) => {
    expect(parse(line, UTF8_TX)).toMatchObject({
      ok: false,
      reply: { code: 501, enhanced: '5.5.4' },
    });
  });
});

describe('parseCommand: MAIL and its siblings', () => {
  it.each([
    ['MAIL FROM:<a@x.org>', 'MAIL', 'a@x.org'],
    ['mail from:<a@x.org>', 'MAIL', 'a@x.org'],
    ['Mail From:<>', 'MAIL', ''],
    ['MAIL FROM: <a@x.org>', 'MAIL', 'a@x.org'],
    ['MAIL FROM:   <a@x.org>   ', 'MAIL', 'a@x.org'],
    ['MAIL  FROM:<a@x.org>', 'MAIL', 'a@x.org'],
    ['SEND FROM:<a@x.org>', 'SEND', 'a@x.org'],
    ['SOML FROM:<a@x.org>', 'SOML', 'a@x.org'],
    ['saml from:<@r.org:a@x.org>', 'SAML', '@r.org:a@x.org'],
  ])('%j', (line, verb, raw) => {
    const c = command(line);
    expect(c).toMatchObject({ verb, parameters: {} });
    if ('reversePath' in c) expect(c.reversePath.raw).toBe(raw);
  });

  it.each([
    ['MAIL TO:<a@x.org>', 'syntaxError'],
    ['MAIL FROM <a@x.org>', 'syntaxError'],
    ['MAIL FROM :<a@x.org>', 'syntaxError'],
    ['MAIL FRO:<a@x.org>', 'syntaxError'],
    ['MAIL <a@x.org>', 'syntaxError'],
    ['MAIL FROM:', 'badSenderSyntax'],
    ['MAIL FROM:a@x.org', 'badSenderSyntax'],
    ['MAIL FROM:<a@x.org', 'badSenderSyntax'],
    ['MAIL FROM:<a@x.org>SIZE=1', 'badSenderSyntax'],
    ['MAIL FROM:<a@x.org>>', 'badSenderSyntax'],
    ['MAIL FROM:<a..b@x.org>', 'badSenderSyntax'],
    ['MAIL FROM:<postmaster>', 'badSenderSyntax'],
    ['MAIL FROM:<a@[300.1.1.1]>', 'badSenderSyntax'],
    [`MAIL FROM:<${'a'.repeat(65)}@x.org>`, 'senderLocalPartTooLong'],
    [
      `MAIL FROM:<a@x.${['a', 'b', 'c', 'd'].map((c) => c.repeat(63)).join('.')}>`,
      'senderDomainTooLong',
    ],
    [
      `MAIL FROM:<${'a'.repeat(64)}@${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(62)}>`,
      'senderPathTooLong',
    ],
    ['MAIL FROM:<jörg@x.org>', 'utf8NeedsSmtputf8'],
    ['SEND FROM:<a@exämple.de>', 'utf8NeedsSmtputf8'],
    ['MAIL FROM:<@exämple.de:a@x.org>', 'utf8NeedsSmtputf8'],
  ])('%j → %s', (line, name) => {
    expect(refusal(line)).toBe(name);
  });

  it('gives the sender replies their codes', () => {
    const code = (line: string) => {
      const r = parse(line);
      return r.ok ? null : [r.reply.code, r.reply.enhanced];
    };
    expect(code('MAIL FROM:<a..b@x.org>')).toEqual([501, '5.1.7']);
    expect(code(`MAIL FROM:<${'a'.repeat(65)}@x.org>`)).toEqual([553, '5.1.7']);
    expect(code('MAIL FROM:<jörg@x.org>')).toEqual([553, '5.6.7']);
    expect(code('MAIL FROM:<a@x.org> FOO=1')).toEqual([555, '5.5.4']);
    expect(code('MAIL FROM:<a@x.org> SIZE=26214401')).toEqual([552, '5.3.4']);
  });

  it('records the verb on a refusal', () => {
    expect(parse('SOML FROM:<a..b@x.org>')).toMatchObject({ ok: false, verb: 'SOML' });
  });
});

describe('parseCommand: MAIL parameters', () => {
  it.each([
    ['SIZE=5120', { size: 5120 }],
    ['SIZE=0', { size: 0 }],
    ['size=000123', { size: 123 }],
    [`SIZE=${DEFAULT_LIMITS.messageSize}`, { size: DEFAULT_LIMITS.messageSize }],
    ['BODY=7BIT', { body: '7BIT' }],
    ['body=8bitmime', { body: '8BITMIME' }],
    ['SMTPUTF8', { smtputf8: true }],
    ['smtputf8', { smtputf8: true }],
    ['AUTH=<>', { auth: null }],
    ['AUTH=+3C+3E', { auth: null }],
    ['AUTH=user+40example.com', { auth: 'user@example.com' }],
    ['AUTH=a+2Bb+3Dc', { auth: 'a+b=c' }],
    ['AUTH=a+2bb', { auth: 'a+b' }],
    ['AUTH=a+20b', { auth: 'a b' }],
    ['SIZE=5120 BODY=8BITMIME', { size: 5120, body: '8BITMIME' }],
    [
      '  SIZE=1   BODY=7BIT  SMTPUTF8 AUTH=<>   ',
      { size: 1, body: '7BIT', smtputf8: true, auth: null },
    ],
  ] as [string, MailParameters][])('%j', (params, expected) => {
    const c = command(`MAIL FROM:<a@x.org> ${params}`);
    expect(c).toMatchObject({ verb: 'MAIL' });
    if ('reversePath' in c) expect(c.parameters).toEqual(expected);
  });

  it.each([
    ['SIZE=', 'syntaxError'],
    ['SIZE', 'syntaxError'],
    ['SIZE=12a', 'syntaxError'],
    ['SIZE=-1', 'syntaxError'],
    ['SIZE=+1', 'syntaxError'],
    ['SIZE=1.5', 'syntaxError'],
    ['SIZE==1', 'syntaxError'],
    [`SIZE=${'9'.repeat(21)}`, 'syntaxError'],
    [`SIZE=${'9'.repeat(20)}`, 'messageTooBig'],
    [`SIZE=${DEFAULT_LIMITS.messageSize + 1}`, 'messageTooBig'],
    ['BODY=BINARYMIME', 'syntaxError'],
    ['BODY=8BIT', 'syntaxError'],
    ['BODY', 'syntaxError'],
    ['SMTPUTF8=yes', 'syntaxError'],
    ['SMTPUTF8=', 'syntaxError'],
    ['AUTH', 'syntaxError'],
    ['AUTH=', 'syntaxError'],
    ['AUTH=a+4', 'syntaxError'],
    ['AUTH=a+4g', 'syntaxError'],
    ['AUTH=a+0D+0Ab', 'syntaxError'],
    ['AUTH=a+00', 'syntaxError'],
    ['AUTH=a+C3+A9', 'syntaxError'],
    ['AUTH=jörg', 'syntaxError'],
    ['SIZE=1 SIZE=2', 'syntaxError'],
    ['size=1 SIZE=1', 'syntaxError'],
    ['SMTPUTF8 SMTPUTF8', 'syntaxError'],
    ['=x', 'syntaxError'],
    ['-X=1', 'syntaxError'],
    ['X_Y=1', 'syntaxError'],
    ['SIZE:1', 'syntaxError'],
    ['FOO=1', 'unknownParameter'],
    ['X-FOO', 'unknownParameter'],
    ['RET=HDRS', 'unknownParameter'],
    ['ENVID=abc', 'unknownParameter'],
    ['X=ö', 'unknownParameter'],
    ['SIZE=1 FOO=1', 'unknownParameter'],
    ['FOO=1 SIZE=x', 'unknownParameter'],
    ['SIZE=x FOO=1', 'syntaxError'],
  ])('%j → %s', (params, name) => {
    expect(refusal(`MAIL FROM:<a@x.org> ${params}`)).toBe(name);
  });

  it('refuses every parameter with 555 after HELO, and ignores trailing spaces', () => {
    for (const p of ['SIZE=1', 'BODY=8BITMIME', 'SMTPUTF8', 'AUTH=<>', 'garbage=', '=']) {
      expect(refusal(`MAIL FROM:<a@x.org> ${p}`, HELO_CTX)).toBe('unknownParameter');
    }
    expect(refusal('MAIL FROM:<a@x.org>   ', HELO_CTX)).toBe('ok');
  });

  it('understands SMTPUTF8 and AUTH= only when they are offered', () => {
    const plain = { ...EHLO_CTX, smtputf8: false, authOffered: false };
    expect(refusal('MAIL FROM:<a@x.org> SMTPUTF8', plain)).toBe('unknownParameter');
    expect(refusal('MAIL FROM:<a@x.org> SMTPUTF8=x', plain)).toBe('unknownParameter');
    expect(refusal('MAIL FROM:<a@x.org> AUTH=<>', plain)).toBe('unknownParameter');
    expect(refusal('MAIL FROM:<a@x.org> SIZE=1 BODY=7BIT', plain)).toBe('ok');
  });

  it('allows a UTF-8 reverse-path only with SMTPUTF8 on the same command, when offered', () => {
    expect(command('MAIL FROM:<jörg@exämple.de> SMTPUTF8')).toMatchObject({
      reversePath: { mailbox: { localPart: 'jörg', domain: 'exämple.de', utf8: true } },
      parameters: { smtputf8: true },
    });
    expect(refusal('MAIL FROM:<jörg@x.org> SIZE=1')).toBe('utf8NeedsSmtputf8');
    expect(refusal('MAIL FROM:<jörg@x.org> SMTPUTF8', { ...EHLO_CTX, smtputf8: false })).toBe(
      'unknownParameter',
    );
    expect(refusal('MAIL FROM:<jörg@x.org> SMTPUTF8', HELO_CTX)).toBe('unknownParameter');
    expect(refusal('MAIL FROM:<jörg@x.org>', HELO_CTX)).toBe('utf8NeedsSmtputf8');
    // UTF-8 syntax errors are still syntax errors
    expect(refusal('MAIL FROM:<jö..rg@x.org> SMTPUTF8')).toBe('badSenderSyntax');
  });
});

describe('parseCommand: RCPT', () => {
  it.each([
    ['RCPT TO:<b@y.org>', 'b@y.org'],
    ['rcpt to:<B@Y.ORG>  ', 'B@Y.ORG'],
    ['RCPT TO: <b@y.org>', 'b@y.org'],
    ['RCPT TO:<postmaster>', 'postmaster'],
    ['RCPT TO:<PostMaster>', 'PostMaster'],
    ['RCPT TO:<@a.org,@b.org:b@y.org>', '@a.org,@b.org:b@y.org'],
    ['RCPT TO:<"b c"@[IPv6:2001:db8::1]>', '"b c"@[IPv6:2001:db8::1]'],
  ])('%j', (line, raw) => {
    const c = command(line);
    expect(c).toMatchObject({ verb: 'RCPT', forwardPath: { raw }, parameters: {} });
  });

  it('lower-cases the domain and keeps the local part', () => {
    expect(command('RCPT TO:<B@Y.ORG>')).toMatchObject({
      forwardPath: { mailbox: { localPart: 'B', domain: 'y.org' } },
    });
  });

  it.each([
    ['RCPT', 'syntaxError', 501, '5.5.4'],
    ['RCPT FROM:<b@y.org>', 'syntaxError', 501, '5.5.4'],
    ['RCPT TO <b@y.org>', 'syntaxError', 501, '5.5.4'],
    ['RCPT TO:<>', 'badRecipientSyntax', 501, '5.1.3'],
    ['RCPT TO:', 'badRecipientSyntax', 501, '5.1.3'],
    ['RCPT TO:b@y.org', 'badRecipientSyntax', 501, '5.1.3'],
    ['RCPT TO:<b@y.org>NOTIFY=NEVER', 'badRecipientSyntax', 501, '5.1.3'],
    ['RCPT TO:<b@-y.org>', 'badRecipientSyntax', 501, '5.1.3'],
    ['RCPT TO:<b@[IPv6:1::2::3]>', 'badRecipientSyntax', 501, '5.1.3'],
    [`RCPT TO:<${'b'.repeat(65)}@y.org>`, 'recipientLocalPartTooLong', 553, '5.1.3'],
    [
      `RCPT TO:<b@x.${['a', 'b', 'c', 'd'].map((c) => c.repeat(63)).join('.')}>`,
      'recipientDomainTooLong',
      553,
      '5.1.3',
    ],
    [
      `RCPT TO:<${'a'.repeat(64)}@${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(62)}>`,
      'recipientPathTooLong',
      501,
      '5.1.3',
    ],
    ['RCPT TO:<jörg@y.org>', 'utf8NeedsSmtputf8', 553, '5.6.7'],
    ['RCPT TO:<b@y.org> NOTIFY=NEVER', 'unknownParameter', 555, '5.5.4'],
    ['RCPT TO:<b@y.org> ORCPT=rfc822;b@y.org', 'unknownParameter', 555, '5.5.4'],
    ['RCPT TO:<b@y.org> SIZE=1', 'unknownParameter', 555, '5.5.4'],
  ])('%j → %s', (line, name, code, enhanced) => {
    expect(parse(line)).toMatchObject({ ok: false, verb: 'RCPT', reply: { name, code, enhanced } });
  });

  it('refuses RCPT parameters after HELO too', () => {
    expect(refusal('RCPT TO:<b@y.org> X', HELO_CTX)).toBe('unknownParameter');
  });

  it('allows a UTF-8 forward-path only in a transaction whose MAIL carried SMTPUTF8', () => {
    expect(refusal('RCPT TO:<jörg@exämple.de>', EHLO_CTX)).toBe('utf8NeedsSmtputf8');
    expect(command('RCPT TO:<jörg@exämple.de>', UTF8_TX)).toMatchObject({
      forwardPath: { mailbox: { localPart: 'jörg', domain: 'exämple.de', utf8: true } },
    });
  });
});

describe('parseCommand: replies come from the catalogue', () => {
  it('uses only catalogue replies, with the catalogue codes', () => {
    const lines = [
      'XYZ',
      'MAIL',
      'MAIL FROM:<a..b@x.org>',
      'RCPT TO:<b@y.org> X=1',
      'MAIL FROM:<a@x.org> SIZE=999999999',
      'RCPT TO:<jörg@y.org>',
    ];
    for (const line of lines) {
      const r = parse(line);
      expect(r.ok).toBe(false);
      if (!r.ok && r.reply.name !== 'custom') {
        const spec = REPLY_CATALOGUE[r.reply.name];
        const enhanced = 'enhanced' in spec ? spec.enhanced : undefined;
        expect(r.reply).toEqual({
          code: spec.code,
          enhanced,
          lines: [spec.text],
          name: r.reply.name,
        });
      }
    }
  });
});

// --- properties ------------------------------------------------------------

const VERB_WORDS = [...VERBS, 'MAIL FROM:', 'RCPT TO:', 'MAIL FROM:<', 'RCPT TO:<'];

/** Arbitrary command-ish lines: raw bytes, and a verb followed by raw bytes or SMTP-ish text. */
const lineArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  fc
    .tuple(fc.constantFrom(...VERB_WORDS), fc.uint8Array({ maxLength: 120 }))
    .map(([v, b]) => Buffer.concat([Buffer.from(`${v} `), b])),
  fc
    .tuple(
      fc.constantFrom(...VERB_WORDS),
      fc.array(
        fc.constantFrom(
          ...'<>@.,:"\\[]= aZ9-+éΩ'.split(''),
          'SIZE=',
          'BODY=8BITMIME',
          'SMTPUTF8',
          'AUTH=',
          'IPv6:',
          'postmaster',
          '\u0000',
          '\r',
          '\n',
          '\t',
        ),
        { maxLength: 60 },
      ),
    )
    .map(([v, a]) => Buffer.from(`${v}${a.join('')}`, 'utf8')),
);

const ctxArb: fc.Arbitrary<ParseContext> = fc.record({
  extended: fc.boolean(),
  smtputf8: fc.boolean(),
  utf8Transaction: fc.boolean(),
  authOffered: fc.boolean(),
  limits: fc.constantFrom(DEFAULT_LIMITS, ROOMY_LIMITS),
});

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (v === null || typeof v !== 'object') return [];
  return Object.values(v).flatMap(strings);
}

/** Random ASCII case for a keyword. */
const caseOf = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((flips) =>
      [...word].map((ch, k) => (flips[k] ? ch.toLowerCase() : ch.toUpperCase())).join(''),
    );

const spaces = (min: number) => fc.integer({ min, max: 3 }).map((n) => ' '.repeat(n));

/** MailParameters and one way of writing them (random case, order and spacing). */
function mailParamsArb(
  needSmtputf8: boolean,
): fc.Arbitrary<{ params: MailParameters; text: string }> {
  const printable = fc
    .array(fc.integer({ min: 0x20, max: 0x7e }), { minLength: 1, maxLength: 20 })
    .map((a) => String.fromCharCode(...a))
    .filter((s) => s !== '<>');
  return fc
    .record({
      size: fc.option(fc.integer({ min: 0, max: DEFAULT_LIMITS.messageSize }), { nil: undefined }),
      body: fc.option(fc.constantFrom('7BIT' as const, '8BITMIME' as const), { nil: undefined }),
      smtputf8: needSmtputf8
        ? fc.constant(true as const)
        : fc.option(fc.constant(true as const), { nil: undefined }),
      auth: fc.option(fc.option(printable, { nil: null }), { nil: undefined }),
    })
    .chain((p) => {
      const parts: fc.Arbitrary<string>[] = [];
      if (p.size !== undefined) parts.push(caseOf('SIZE').map((k) => `${k}=${p.size}`));
      if (p.body !== undefined)
        parts.push(fc.tuple(caseOf('BODY'), caseOf(p.body)).map(([k, v]) => `${k}=${v}`));
      if (p.smtputf8) parts.push(caseOf('SMTPUTF8'));
      if (p.auth !== undefined) {
        const v = p.auth === null ? '<>' : encodeXtext(p.auth);
        parts.push(caseOf('AUTH').map((k) => `${k}=${v}`));
      }
      const params = Object.fromEntries(
        Object.entries(p).filter(([, v]) => v !== undefined),
      ) as MailParameters;
      return fc
        .tuple(fc.tuple(...parts.map((a) => fc.tuple(spaces(1), a))), spaces(0))
        .chain(([written, trailing]) =>
          fc
            .shuffledSubarray(written, { minLength: written.length, maxLength: written.length })
            .map((order) => ({
              params,
              text: order.map(([sp, w]) => sp + w).join('') + trailing,
            })),
        );
    });
}

describe('parseCommand properties', () => {
  it('never throws on arbitrary lines, and answers with a command or a 5yz catalogue reply', () => {
    fc.assert(
      fc.property(lineArb, ctxArb, (line, ctx) => {
        const r = parseCommand(line, ctx);
        if (r.ok) {
          expect(VERBS).toContain(r.command.verb);
          for (const s of strings(r.command)) {
            // eslint-disable-next-line no-control-regex -- asserting their absence
            expect(s).not.toMatch(/[\u0000-\u001f\u007f]/);
            expect(s.isWellFormed()).toBe(true);
          }
        } else {
          expect(r.reply.code).toBeGreaterThanOrEqual(500);
          expect(r.reply.code).toBeLessThan(600);
          expect(r.reply.name).not.toBe('custom');
          expect(r.verb === null || VERBS.includes(r.verb)).toBe(true);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it('refuses any line holding NUL, CR or LF with 501', () => {
    const withBad = fc
      .tuple(lineArb, fc.constantFrom(0x00, 0x0a, 0x0d), fc.nat())
      .map(([line, bad, at]) => {
        const k = line.length === 0 ? 0 : at % (line.length + 1);
        return Buffer.concat([line.subarray(0, k), Buffer.from([bad]), line.subarray(k)]);
      });
    fc.assert(
      fc.property(withBad, ctxArb, (line, ctx) => {
        const r = parseCommand(line, ctx);
        expect(r.ok).toBe(false);
        if (!r.ok)
          expect(r.reply).toMatchObject({ code: 501, enhanced: '5.5.2', name: 'badCharacter' });
      }),
      { numRuns: 10_000 },
    );
  });

  it('round-trips generated MAIL/SEND/SOML/SAML lines to the same path and parameters', () => {
    const ctx: ParseContext = { ...EHLO_CTX, limits: ROOMY_LIMITS };
    const arb = fc
      .tuple(fc.constantFrom('MAIL', 'SEND', 'SOML', 'SAML'), fc.boolean())
      .chain(([verb, utf8]) =>
        fc.record({
          verb: caseOf(verb),
          from: caseOf('FROM:'),
          gap: spaces(0),
          path: pathArb({ kind: 'reverse', utf8 }),
          params: mailParamsArb(utf8),
        }),
      );
    fc.assert(
      fc.property(arb, ({ verb, from, gap, path, params }) => {
        const line = `${verb} ${from}${gap}${formatPath(path)}${params.text}`;
        const r = parseCommand(Buffer.from(line, 'utf8'), ctx);
        expect(r).toEqual({
          ok: true,
          command: { verb: verb.toUpperCase(), reversePath: path, parameters: params.params },
        });
      }),
      { numRuns: 10_000 },
    );
  });

  it('round-trips generated RCPT lines to the same path', () => {
    const arb = fc
      .record({
        verb: caseOf('RCPT'),
        to: caseOf('TO:'),
        gap: spaces(0),
        trailing: spaces(0),
        utf8: fc.boolean(),
      })
      .chain((r) => pathArb({ kind: 'forward', utf8: r.utf8 }).map((path) => ({ ...r, path })));
    fc.assert(
      fc.property(arb, ({ verb, to, gap, trailing, utf8, path }) => {
        const line = `${verb} ${to}${gap}${formatPath(path)}${trailing}`;
        const ctx: ParseContext = { ...EHLO_CTX, utf8Transaction: utf8, limits: ROOMY_LIMITS };
        expect(parseCommand(Buffer.from(line, 'utf8'), ctx)).toEqual({
          ok: true,
          command: { verb: 'RCPT', forwardPath: path, parameters: {} },
        });
      }),
      { numRuns: 10_000 },
    );
  });
});
