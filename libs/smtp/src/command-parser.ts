// One command line (without its CRLF) in, one Command or one refusal out: the
// verb, its argument grammar, and the catalogue reply each refusal gets.
//
// Does not: judge command order (the server session does), frame lines (the
// line reader refuses lines over the command-line limit), or decide policy on
// the addresses it parses. Never throws; every refusal is a 5yz reply.
//
// Invariants: no Command holds NUL, CR, LF or any other control character;
// non-ASCII text reaches a Command only in paths (then only with SMTPUTF8) and
// in the free-text VRFY, EXPN, HELP and NOOP arguments.
//
// RFC 5321 §2.3.8 (no bare CR or LF), §2.4 (verbs case-insensitive), §4.1.1
// (commands), §4.1.2 (grammar), §4.2 (replies); RFC 821 §3.4 and §4.1.1 (SEND,
// SOML, SAML, TURN); RFC 3207 §4 (STARTTLS); RFC 4954 §4 (AUTH);
// RFC 6531 §3.4 (SMTPUTF8).

import type { SmtpLimits } from './limits.js';
import { parseMailParameters, parseRcptParameters } from './mail-parameters.js';
import { scanPath, type PathError } from './path-parser.js';
import { reply, type Reply, type ReplyName } from './replies.js';
import type { MailParameters, Path, RcptParameters, TransactionVerb } from './types.js';

export type Verb =
  | 'HELO'
  | 'EHLO'
  | 'MAIL'
  | 'RCPT'
  | 'DATA'
  | 'SEND'
  | 'SOML'
  | 'SAML'
  | 'RSET'
  | 'VRFY'
  | 'EXPN'
  | 'HELP'
  | 'NOOP'
  | 'QUIT'
  | 'TURN'
  | 'STARTTLS'
  | 'AUTH';

export const VERBS: readonly Verb[] = Object.freeze([
  'HELO',
  'EHLO',
  'MAIL',
  'RCPT',
  'DATA',
  'SEND',
  'SOML',
  'SAML',
  'RSET',
  'VRFY',
  'EXPN',
  'HELP',
  'NOOP',
  'QUIT',
  'TURN',
  'STARTTLS',
  'AUTH',
] as const);

export type Command =
  /** RFC 5321 §4.1.1.1: the first word of the argument, printable ASCII. */
  | { readonly verb: 'HELO' | 'EHLO'; readonly domain: string }
  /** RFC 5321 §4.1.1.2, RFC 821 §4.1.1: MAIL/SEND/SOML/SAML FROM:<reverse-path> [parameters]. */
  | {
      readonly verb: TransactionVerb;
      readonly reversePath: Path;
      readonly parameters: MailParameters;
    }
  /** RFC 5321 §4.1.1.3: RCPT TO:<forward-path>. */
  | { readonly verb: 'RCPT'; readonly forwardPath: Path; readonly parameters: RcptParameters }
  | { readonly verb: 'DATA' | 'RSET' | 'QUIT' | 'TURN' | 'STARTTLS' }
  /** RFC 5321 §4.1.1.6-7: the argument as sent, outer spaces removed. */
  | { readonly verb: 'VRFY' | 'EXPN'; readonly argument: string }
  | { readonly verb: 'HELP' | 'NOOP'; readonly argument: string | null }
  /** RFC 4954 §4: mechanism upper-cased; initialResponse as sent ("=" means empty). */
  | { readonly verb: 'AUTH'; readonly mechanism: string; readonly initialResponse: string | null };

export interface ParseContext {
  /** The session was greeted with EHLO: ESMTP parameters allowed (after HELO every parameter is 555). */
  readonly extended: boolean;
  /** SMTPUTF8 offered by the server. */
  readonly smtputf8: boolean;
  /** The open transaction's MAIL carried SMTPUTF8: UTF-8 allowed in RCPT paths. */
  readonly utf8Transaction: boolean;
  /** AUTH offered: the MAIL parameter AUTH=<xtext> is accepted. */
  readonly authOffered: boolean;
  readonly limits: SmtpLimits;
}

export type ParseResult =
  | { readonly ok: true; readonly command: Command }
  | { readonly ok: false; readonly verb: Verb | null; readonly reply: Reply };

/**
 * Parses one command line, given without its CRLF. Refusals, checked in this
 * order: NUL, CR or LF anywhere, 501 5.5.2; an unknown verb, or one not followed
 * by a space or the end, 500 5.5.2; any other control octet (HT, DEL, ...) or
 * invalid UTF-8, 501 5.5.4; then the verb's own grammar.
 */
export function parseCommand(line: Buffer, ctx: ParseContext): ParseResult {
  const n = line.length;
  let bad = false;
  let control = false;
  let high = false;
  for (let i = 0; i < n; i++) {
    const b = line[i]!;
    if ((b - 0x20) >>> 0 <= 0x5e) continue; // printable ASCII, the common case
    if (b >= 0x80) high = true;
    else if (b === 0x00 || b === 0x0a || b === 0x0d) bad = true;
    else control = true;
  }

  const verb = verbOf(line, n);
  if (bad) return refuse(verb, BAD_CHARACTER);
  if (verb === null) return UNKNOWN;
  if (control) return refuse(verb, SYNTAX);

  // The argument: after the verb's space(s), trailing spaces removed. Only its
  // bytes are decoded, and only for the verbs that take one.
  let i = verb.length;
  while (i < n && line[i] === 0x20) i += 1;
  let end = n;
  while (end > i && line[end - 1] === 0x20) end -= 1;

  switch (verb) {
    case 'DATA':
    case 'RSET':
    case 'QUIT':
    case 'TURN':
    case 'STARTTLS':
      return i < end ? refuse(verb, SYNTAX) : BARE[verb];
    case 'HELP':
    case 'NOOP':
      if (i === end) return verb === 'HELP' ? HELP_ALONE : NOOP_ALONE;
      break;
    default:
      if (i === end) return refuse(verb, SYNTAX);
  }

  let s: string;
  if (high) {
    try {
      s = UTF8.decode(line.subarray(i, end));
    } catch {
      return refuse(verb, SYNTAX);
    }
  } else {
    s = line.toString('latin1', i, end);
  }

  switch (verb) {
    case 'HELO':
    case 'EHLO': {
      let j = s.indexOf(' ');
      if (j < 0) j = s.length;
      // RFC 5321 §4.1.1.1: Domain / address-literal, ASCII (SMTPUTF8 is per transaction).
      if (high && !isAscii(s, 0, j)) return refuse(verb, SYNTAX);
      return { ok: true, command: { verb, domain: j === s.length ? s : s.slice(0, j) } };
    }
    case 'MAIL':
    case 'SEND':
    case 'SOML':
    case 'SAML':
      return parseMail(verb, s, ctx);
    case 'RCPT':
      return parseRcpt(s, ctx);
    case 'VRFY':
    case 'EXPN':
    case 'HELP':
    case 'NOOP':
      return { ok: true, command: { verb, argument: s } };
    case 'AUTH':
      return parseAuth(s, high);
  }
}

// --- MAIL, RCPT, AUTH --------------------------------------------------------

/** MAIL/SEND/SOML/SAML argument: FROM:<reverse-path> [SP Mail-parameters]. */
function parseMail(verb: TransactionVerb, s: string, ctx: ParseContext): ParseResult {
  // "FROM:" (case-insensitive), then optional spaces before '<' (a Postfix leniency)
  if (!hasKeyword(s, FROM)) return refuse(verb, SYNTAX);
  let i = FROM.length;
  while (s.charCodeAt(i) === 0x20) i += 1;
  // UTF-8 is judged after the parameters: SMTPUTF8 on this same line allows it.
  const scan = scanPath(s, i, 'reverse', true, ctx.limits);
  if (!scan.ok) return refuse(verb, SENDER_PATH[scan.error]);
  if (scan.end < s.length && s.charCodeAt(scan.end) !== 0x20) {
    return refuse(verb, SENDER_PATH.syntax);
  }
  const params = parseMailParameters(s, scan.end, s.length, ctx);
  if (!params.ok) return refuse(verb, params.reply);
  if (scan.utf8 && params.parameters.smtputf8 !== true) {
    return refuse(verb, SENDER_PATH['utf8-not-allowed']);
  }
  return { ok: true, command: { verb, reversePath: scan.path, parameters: params.parameters } };
}

/** RCPT argument: TO:<forward-path> [SP Rcpt-parameters]. */
function parseRcpt(s: string, ctx: ParseContext): ParseResult {
  if (!hasKeyword(s, TO)) return refuse('RCPT', SYNTAX);
  let i = TO.length;
  while (s.charCodeAt(i) === 0x20) i += 1;
  const scan = scanPath(s, i, 'forward', ctx.utf8Transaction, ctx.limits);
  if (!scan.ok) return refuse('RCPT', RECIPIENT_PATH[scan.error]);
  if (scan.end < s.length && s.charCodeAt(scan.end) !== 0x20) {
    return refuse('RCPT', RECIPIENT_PATH.syntax);
  }
  const params = parseRcptParameters(s, scan.end, s.length);
  if (!params.ok) return refuse('RCPT', params.reply);
  const command = { verb: 'RCPT', forwardPath: scan.path, parameters: params.parameters } as const;
  return { ok: true, command };
}

/** RFC 4954 §4: AUTH mechanism [initial-response]; RFC 4422 §3.1: 1*20 of A-Z 0-9 - _. */
function parseAuth(s: string, high: boolean): ParseResult {
  const end = s.length;
  let j = 0;
  for (;;) {
    const c = s.charCodeAt(j);
    if (isAlnum(c) || c === 0x2d || c === 0x5f) j += 1;
    else break;
  }
  if (j === 0 || j > 20 || (j < end && s.charCodeAt(j) !== 0x20)) return refuse('AUTH', SYNTAX);
  const mechanism = s.slice(0, j).toUpperCase();
  while (s.charCodeAt(j) === 0x20) j += 1;
  if (j >= end) return { ok: true, command: { verb: 'AUTH', mechanism, initialResponse: null } };
  if (s.indexOf(' ', j) >= 0 || (high && !isAscii(s, j, end))) return refuse('AUTH', SYNTAX);
  return { ok: true, command: { verb: 'AUTH', mechanism, initialResponse: s.slice(j) } };
}

// --- verbs and helpers -------------------------------------------------------

/** Four case-folded ASCII letters as one small integer. */
function key4(a: number, b: number, c: number, d: number): number {
  return ((a | 0x20) << 21) | ((b | 0x20) << 14) | ((c | 0x20) << 7) | (d | 0x20);
}

const VERB_BY_KEY = new Map<number, Verb>();
for (const v of VERBS) {
  VERB_BY_KEY.set(key4(v.charCodeAt(0), v.charCodeAt(1), v.charCodeAt(2), v.charCodeAt(3)), v);
}

/**
 * The verb at the start of the line (RFC 5321 §2.4: case-insensitive), if it
 * is followed by a space or the end of the line; null otherwise.
 */
function verbOf(line: Buffer, n: number): Verb | null {
  if (n < 4) return null;
  const a = line[0]!;
  const b = line[1]!;
  const c = line[2]!;
  const d = line[3]!;
  if ((a | b | c | d) >= 0x80) return null;
  const verb = VERB_BY_KEY.get(key4(a, b, c, d));
  if (verb === undefined) return null;
  let len = 4;
  if (verb === 'STARTTLS') {
    if (n < 8 || key4(line[4]!, line[5]!, line[6]!, line[7]!) !== STARTTLS_TAIL) {
      return null;
    }
    len = 8;
  }
  return len === n || line[len] === 0x20 ? verb : null;
}

const STARTTLS_TAIL = key4(0x74, 0x74, 0x6c, 0x73); // "ttls"

const FROM = 'from:';
const TO = 'to:';

/** s starts with `lower` (lower-case ASCII letters and ':'), ignoring case. */
function hasKeyword(s: string, lower: string): boolean {
  if (s.length < lower.length) return false;
  for (let k = 0; k < lower.length; k++) {
    const c = s.charCodeAt(k);
    const l = lower.charCodeAt(k);
    if (c !== l && !(l >= 0x61 && l <= 0x7a && c + 0x20 === l)) return false;
  }
  return true;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isAscii(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

// fatal: invalid UTF-8 is refused; ignoreBOM: a leading U+FEFF stays visible to the grammar.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function frozen(name: ReplyName): Reply {
  const r = reply(name);
  Object.freeze(r.lines);
  return Object.freeze(r);
}

const SYNTAX = frozen('syntaxError');
const BAD_CHARACTER = frozen('badCharacter');
const UNKNOWN: ParseResult = Object.freeze({
  ok: false,
  verb: null,
  reply: frozen('unknownCommand'),
});

const SENDER_PATH: Readonly<Record<PathError, Reply>> = Object.freeze({
  syntax: frozen('badSenderSyntax'),
  'path-too-long': frozen('senderPathTooLong'),
  'local-part-too-long': frozen('senderLocalPartTooLong'),
  'domain-too-long': frozen('senderDomainTooLong'),
  'utf8-not-allowed': frozen('utf8NeedsSmtputf8'),
});

const RECIPIENT_PATH: Readonly<Record<PathError, Reply>> = Object.freeze({
  syntax: frozen('badRecipientSyntax'),
  'path-too-long': frozen('recipientPathTooLong'),
  'local-part-too-long': frozen('recipientLocalPartTooLong'),
  'domain-too-long': frozen('recipientDomainTooLong'),
  'utf8-not-allowed': frozen('utf8NeedsSmtputf8'),
});

type BareVerb = 'DATA' | 'RSET' | 'QUIT' | 'TURN' | 'STARTTLS';
const BARE: Readonly<Record<BareVerb, ParseResult>> = Object.freeze({
  DATA: Object.freeze({ ok: true, command: Object.freeze({ verb: 'DATA' }) }),
  RSET: Object.freeze({ ok: true, command: Object.freeze({ verb: 'RSET' }) }),
  QUIT: Object.freeze({ ok: true, command: Object.freeze({ verb: 'QUIT' }) }),
  TURN: Object.freeze({ ok: true, command: Object.freeze({ verb: 'TURN' }) }),
  STARTTLS: Object.freeze({ ok: true, command: Object.freeze({ verb: 'STARTTLS' }) }),
});

const HELP_ALONE: ParseResult = Object.freeze({
  ok: true,
  command: Object.freeze({ verb: 'HELP', argument: null }),
});
const NOOP_ALONE: ParseResult = Object.freeze({
  ok: true,
  command: Object.freeze({ verb: 'NOOP', argument: null }),
});

function refuse(verb: Verb | null, r: Reply): ParseResult {
  return { ok: false, verb, reply: r };
}
