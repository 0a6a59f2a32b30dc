// The ESMTP parameters after a MAIL (SEND, SOML, SAML) or RCPT path: parse
// them into MailParameters with the reply each refusal gets, and format them
// back for replay. Also the xtext encoding of RFC 3461 §4 used by AUTH=.
//
// Does not: parse the path (path-parser.ts), know whether the session is in a
// transaction, or understand any RCPT parameter (DSN is not offered, so every
// one is 555).
//
// RFC 5321 §4.1.1.11 (esmtp-param), §4.1.2 (esmtp-keyword, esmtp-value),
// RFC 1870 §3-§6 (SIZE), RFC 6152 §2 (BODY), RFC 6531 §3.4 (SMTPUTF8),
// RFC 4954 §5 (AUTH=), RFC 3461 §4 (xtext).

import type { SmtpLimits } from './limits.js';
import { reply, type Reply, type ReplyName } from './replies.js';
import type { MailParameters, RcptParameters } from './types.js';

/** What the parameter parser needs to know about the session (a subset of ParseContext). */
export interface ParameterContext {
  /** Greeted with EHLO: without it every parameter is 555. */
  readonly extended: boolean;
  /** SMTPUTF8 offered: the MAIL parameter SMTPUTF8 is understood. */
  readonly smtputf8: boolean;
  /** AUTH offered: the MAIL parameter AUTH= is understood. */
  readonly authOffered: boolean;
  readonly limits: SmtpLimits;
}

export type MailParametersResult =
  { ok: true; parameters: MailParameters } | { ok: false; reply: Reply };

export type RcptParametersResult =
  { ok: true; parameters: RcptParameters } | { ok: false; reply: Reply };

/**
 * Parses the MAIL parameters in s[start, end): spaces, then esmtp-param
 * *(SP esmtp-param). Several spaces between parameters are accepted. Left to
 * right, the first refusal wins: after HELO any parameter is 555; a malformed
 * or repeated parameter, a bad SIZE, BODY, SMTPUTF8 or AUTH value is 501 5.5.4;
 * SIZE above limits.messageSize is 552 5.3.4; a keyword not understood (or not
 * offered) is 555 5.5.4.
 */
export function parseMailParameters(
  s: string,
  start: number,
  end: number,
  ctx: ParameterContext,
): MailParametersResult {
  let i = skipSpaces(s, start, end);
  if (i >= end) return NO_MAIL_PARAMETERS;
  if (!ctx.extended) return FAIL_UNKNOWN;

  let size: number | undefined;
  let body: '7BIT' | '8BITMIME' | undefined;
  let smtputf8 = false;
  let auth: string | null | undefined;
  let seen = 0;

  while (i < end) {
    // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    const ks = i;
    if (!isAlnum(s.charCodeAt(i))) return FAIL_SYNTAX;
    i += 1;
    for (;;) {
      const c = s.charCodeAt(i);
      if (i < end && (isAlnum(c) || c === 0x2d)) i += 1;
      else break;
    }
    const ke = i;
    // ["=" esmtp-value], esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii)
    let vs = -1;
    if (i < end && s.charCodeAt(i) === 0x3d) {
      i += 1;
      vs = i;
      while (i < end) {
        const c = s.charCodeAt(i);
        if (c === 0x20) break;
        if (c < 0x21 || c === 0x3d || c === 0x7f) return FAIL_SYNTAX;
        i += 1;
      }
      if (i === vs) return FAIL_SYNTAX;
    }
    if (i < end && s.charCodeAt(i) !== 0x20) return FAIL_SYNTAX;
    const ve = i;

    const k = keyword(s, ks, ke);
    if (k === 0) return FAIL_UNKNOWN;
    if (k === K_SMTPUTF8 && !ctx.smtputf8) return FAIL_UNKNOWN;
    if (k === K_AUTH && !ctx.authOffered) return FAIL_UNKNOWN;
    if (seen & k) return FAIL_SYNTAX;
    seen |= k;

    switch (k) {
      case K_SIZE: {
        // RFC 1870 §3: size-value ::= 1*20DIGIT
        if (vs < 0 || ve - vs > 20 || !allDigits(s, vs, ve)) return FAIL_SYNTAX;
        size = 0;
        for (let d = vs; d < ve; d++) size = size * 10 + (s.charCodeAt(d) - 0x30);
        if (size > ctx.limits.messageSize) return FAIL_TOO_BIG;
        break;
      }
      case K_BODY: {
        // RFC 6152 §2: BODY=7BIT / BODY=8BITMIME (BINARYMIME is not offered)
        if (vs < 0) return FAIL_SYNTAX;
        if (equalsIgnoreCase(s, vs, ve, '7BIT')) body = '7BIT';
        else if (equalsIgnoreCase(s, vs, ve, '8BITMIME')) body = '8BITMIME';
        else return FAIL_SYNTAX;
        break;
      }
      case K_SMTPUTF8: {
        // RFC 6531 §3.4: the parameter takes no value
        if (vs >= 0) return FAIL_SYNTAX;
        smtputf8 = true;
        break;
      }
      case K_AUTH: {
        // RFC 4954 §5: AUTH=xtext / AUTH=<>
        if (vs < 0) return FAIL_SYNTAX;
        const decoded = decodeXtext(s.slice(vs, ve));
        if (decoded === undefined) return FAIL_SYNTAX;
        auth = decoded;
        break;
      }
    }
    i = skipSpaces(s, i, end);
  }

  const parameters: {
    size?: number;
    body?: '7BIT' | '8BITMIME';
    smtputf8?: true;
    auth?: string | null;
  } = {};
  if (size !== undefined) parameters.size = size;
  if (body !== undefined) parameters.body = body;
  if (smtputf8) parameters.smtputf8 = true;
  if (auth !== undefined) parameters.auth = auth;
  return { ok: true, parameters };
}

/** RCPT parameters in s[start, end): none is understood, so any is 555 5.5.4. */
export function parseRcptParameters(s: string, start: number, end: number): RcptParametersResult {
  return skipSpaces(s, start, end) >= end ? NO_RCPT_PARAMETERS : FAIL_UNKNOWN;
}

/** The parameters as they follow the path on a MAIL line: "" or " SIZE=… BODY=… SMTPUTF8 AUTH=…". */
export function formatMailParameters(p: MailParameters): string {
  let out = '';
  if (p.size !== undefined) out += ` SIZE=${p.size}`;
  if (p.body !== undefined) out += ` BODY=${p.body}`;
  if (p.smtputf8 === true) out += ' SMTPUTF8';
  if (p.auth !== undefined) out += ` AUTH=${p.auth === null ? '<>' : encodeXtext(p.auth)}`;
  return out;
}

/**
 * RFC 3461 §4 xtext, as the AUTH= value: "<>" (or its encoding) is null.
 * Undefined when it is not xtext (a character outside "!".."~", "=", a "+"
 * without two hex digits; lower-case hex is accepted) or when it decodes to a
 * control or non-ASCII octet: AUTH= names a mailbox, and no stored envelope
 * field may hold CR, LF or NUL.
 */
export function decodeXtext(v: string): string | null | undefined {
  let out = '';
  let from = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x3d) return undefined;
    if (c !== 0x2b) continue;
    const hi = hexValue(v.charCodeAt(i + 1));
    const lo = hexValue(v.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return undefined;
    const octet = hi * 16 + lo;
    if (octet < 0x20 || octet > 0x7e) return undefined;
    out += v.slice(from, i) + String.fromCharCode(octet);
    i += 2;
    from = i + 1;
  }
  out += v.slice(from);
  return out === '<>' ? null : out;
}

/** RFC 3461 §4: "+", "=", and anything outside "!".."~" as "+XX" (UTF-8 octets, upper-case hex). */
export function encodeXtext(v: string): string {
  let out = '';
  for (const octet of UTF8.encode(v)) {
    out +=
      octet >= 0x21 && octet <= 0x7e && octet !== 0x2b && octet !== 0x3d
        ? String.fromCharCode(octet)
        : `+${octet.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// --- helpers ---------------------------------------------------------------

const UTF8 = new TextEncoder();
const K_SIZE = 1;
const K_BODY = 2;
const K_SMTPUTF8 = 4;
const K_AUTH = 8;

function frozen(name: ReplyName): Reply {
  const r = reply(name);
  Object.freeze(r.lines);
  return Object.freeze(r);
}

type Refusal = { readonly ok: false; readonly reply: Reply };
const FAIL_SYNTAX: Refusal = Object.freeze({ ok: false, reply: frozen('syntaxError') });
const FAIL_UNKNOWN: Refusal = Object.freeze({ ok: false, reply: frozen('unknownParameter') });
const FAIL_TOO_BIG: Refusal = Object.freeze({ ok: false, reply: frozen('messageTooBig') });
const NO_MAIL_PARAMETERS: MailParametersResult = Object.freeze({
  ok: true,
  parameters: Object.freeze({}),
});
const NO_RCPT_PARAMETERS: RcptParametersResult = Object.freeze({
  ok: true,
  parameters: Object.freeze({}) as RcptParameters,
});

/** The keyword in s[a, b) (case-insensitive) as a K_ bit, or 0 when not understood. */
function keyword(s: string, a: number, b: number): number {
  switch (b - a) {
    case 4:
      if (equalsIgnoreCase(s, a, b, 'SIZE')) return K_SIZE;
      if (equalsIgnoreCase(s, a, b, 'BODY')) return K_BODY;
      if (equalsIgnoreCase(s, a, b, 'AUTH')) return K_AUTH;
      return 0;
    case 8:
      return equalsIgnoreCase(s, a, b, 'SMTPUTF8') ? K_SMTPUTF8 : 0;
    default:
      return 0;
  }
}

/** s[a, b) equals `upper` (letters and digits only) ignoring ASCII case. */
function equalsIgnoreCase(s: string, a: number, b: number, upper: string): boolean {
  if (b - a !== upper.length) return false;
  for (let k = 0; k < upper.length; k++) {
    const c = s.charCodeAt(a + k);
    const u = upper.charCodeAt(k);
    if (c !== u && !(u >= 0x41 && u <= 0x5a && c === u + 0x20)) return false;
  }
  return true;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function allDigits(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function skipSpaces(s: string, i: number, end: number): number {
  while (i < end && s.charCodeAt(i) === 0x20) i += 1;
  return i;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
