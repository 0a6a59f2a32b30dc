// Reverse-paths and forward-paths: the RFC 5321 §4.1.2 grammar (with the
// RFC 6531 §3.3 UTF-8 extensions), the §4.5.3.1 size limits, and the canonical
// wire form the egress replays.
//
// Does not: accept a path without angle brackets, a general address literal
// other than IPv6, or any control character; decide whether a domain is ours or
// may be relayed to (policy); convert U-labels to A-labels or check IDNA rules.
// Never throws on any input.
//
// Invariants: a parsed Path holds no C0 control, DEL, C1 control or lone
// surrogate anywhere; domains and route domains have their ASCII letters
// lower-cased; formatPath never produces a form longer than the one parsed.
//
// RFC 5321 §4.1.2 (Path, Mailbox, Local-part, Domain, address-literal),
// §4.1.3 (address literals, address-literal.ts), §4.1.1.3 and §4.5.1 (<postmaster>),
// §4.5.3.1.1-3 (limits), RFC 5322 §3.2.3 (atext), RFC 6531 §3.3 (UTF-8),
// RFC 3696 §2 (no all-numeric top label).

import { parseAddressLiteral } from './address-literal.js';
import type { SmtpLimits } from './limits.js';
import type { AddressLiteral, Mailbox, Path } from './types.js';

export type PathError =
  'syntax' | 'path-too-long' | 'local-part-too-long' | 'domain-too-long' | 'utf8-not-allowed';

export interface PathOptions {
  /** 'reverse' admits the null path <>; 'forward' admits <postmaster>. */
  kind: 'reverse' | 'forward';
  /** RFC 6531: non-ASCII in atext, qtext and domain labels (SMTPUTF8 in effect). */
  utf8Allowed: boolean;
  limits: SmtpLimits;
}

export type PathResult = { ok: true; path: Path; rest: string } | { ok: false; error: PathError };

/**
 * A path scanned inside a longer string (the command parser's view): `end` is
 * the index just past '>', `utf8` whether any part (route included) is non-ASCII.
 */
export type PathScan =
  { ok: true; path: Path; end: number; utf8: boolean } | { ok: false; error: PathError };

/**
 * Parses the path at the start of `text` (which must begin with '<'). Errors
 * are reported in this order: syntax, local-part-too-long, domain-too-long,
 * path-too-long, utf8-not-allowed. A non-ASCII address is well-formed syntax,
 * so without SMTPUTF8 it is 'utf8-not-allowed' (553 5.6.7), not 'syntax'.
 */
export function parsePath(text: string, options: PathOptions): PathResult {
  const scan = scanPath(text, 0, options.kind, options.utf8Allowed, options.limits);
  if (!scan.ok) return scan;
  return { ok: true, path: scan.path, rest: text.slice(scan.end) };
}

/** parsePath at index `start` of `s`, without copying the rest. For command-parser.ts, not the package surface. */
export function scanPath(
  s: string,
  start: number,
  kind: 'reverse' | 'forward',
  utf8Allowed: boolean,
  limits: SmtpLimits,
): PathScan {
  if (s.charCodeAt(start) !== LT) return FAIL.syntax;
  let i = start + 1;

  // RFC 5321 §4.1.1.2: Reverse-path = Path / "<>".
  if (s.charCodeAt(i) === GT) {
    if (kind === 'forward') return FAIL.syntax;
    if (2 > limits.path) return FAIL['path-too-long'];
    return { ok: true, path: NULL_PATH, end: i + 1, utf8: false };
  }

  let utf8 = false;

  // A-d-l = At-domain *( "," At-domain ) ":"  (RFC 5321 §4.1.2, §C)
  let route: readonly string[] = NO_ROUTE;
  let routeTooLong = false;
  if (s.charCodeAt(i) === AT) {
    const hops: string[] = [];
    for (;;) {
      const ds = i + 1;
      const de = scanDomain(s, ds);
      if (de < 0) return FAIL.syntax;
      hops.push(scratch.upper ? asciiLower(s.slice(ds, de)) : s.slice(ds, de));
      if (scratch.nonAscii) {
        utf8 = true;
        if (utf8Length(s, ds, de) > limits.domain) routeTooLong = true;
      } else if (de - ds > limits.domain) routeTooLong = true;
      i = de;
      const c = s.charCodeAt(i);
      if (c === COMMA && s.charCodeAt(i + 1) === AT) {
        i += 1;
        continue;
      }
      if (c !== COLON) return FAIL.syntax;
      i += 1;
      break;
    }
    route = hops;
  }

  // Local-part = Dot-string / Quoted-string
  const lpStart = i;
  let localPart: string;
  let quoted = false;
  if (s.charCodeAt(i) === DQUOTE) {
    const qe = scanQuoted(s, i);
    if (qe < 0) return FAIL.syntax;
    localPart = scratch.escaped ? unescapeQuoted(s.slice(i + 1, qe - 1)) : s.slice(i + 1, qe - 1);
    quoted = true;
    i = qe;
  } else {
    const de = scanDotString(s, i);
    if (de < 0) return FAIL.syntax;
    localPart = s.slice(i, de);
    i = de;
  }
  const localNonAscii = scratch.nonAscii;
  const lpEnd = i;

  // RFC 5321 §4.1.1.3: "<Postmaster>" without a domain, forward-path only.
  if (s.charCodeAt(i) === GT) {
    if (kind !== 'forward' || quoted || route.length > 0 || !isPostmaster(localPart)) {
      return FAIL.syntax;
    }
    const end = i + 1;
    if (end - start > limits.path) return FAIL['path-too-long'];
    const mailbox: Mailbox = {
      localPart,
      quoted: false,
      domain: null,
      addressLiteral: null,
      utf8: false,
    };
    return { ok: true, path: { route, mailbox, raw: s.slice(start + 1, i) }, end, utf8: false };
  }
  if (s.charCodeAt(i) !== AT) return FAIL.syntax;
  i += 1;

  // Domain / address-literal
  const dStart = i;
  let domain: string;
  let addressLiteral: AddressLiteral | null = null;
  let domainNonAscii = false;
  if (s.charCodeAt(i) === LBRACKET) {
    const le = scanAddressLiteral(s, i);
    if (le < 0) return FAIL.syntax;
    addressLiteral = scratch.literal;
    domain =
      addressLiteral.family === 6
        ? `[ipv6:${addressLiteral.address}]`
        : `[${addressLiteral.address}]`;
    i = le;
  } else {
    const de = scanDomain(s, i);
    if (de < 0) return FAIL.syntax;
    domain = scratch.upper ? asciiLower(s.slice(i, de)) : s.slice(i, de);
    domainNonAscii = scratch.nonAscii;
    i = de;
  }
  const dEnd = i;
  if (s.charCodeAt(i) !== GT) return FAIL.syntax;
  const end = i + 1;

  // RFC 5321 §4.5.3.1: limits in octets, UTF-8 octets when SMTPUTF8 applies.
  const mailboxUtf8 = localNonAscii || domainNonAscii;
  if (mailboxUtf8) utf8 = true;
  const lpOctets = localNonAscii ? utf8Length(s, lpStart, lpEnd) : lpEnd - lpStart;
  if (lpOctets > limits.localPart) return FAIL['local-part-too-long'];
  const dOctets = domainNonAscii ? utf8Length(s, dStart, dEnd) : dEnd - dStart;
  if (dOctets > limits.domain || routeTooLong) return FAIL['domain-too-long'];
  const pathOctets = utf8 ? utf8Length(s, start, end) : end - start;
  if (pathOctets > limits.path) return FAIL['path-too-long'];
  if (utf8 && !utf8Allowed) return FAIL['utf8-not-allowed'];

  const mailbox: Mailbox = { localPart, quoted, domain, addressLiteral, utf8: mailboxUtf8 };
  return { ok: true, path: { route, mailbox, raw: s.slice(start + 1, i) }, end, utf8 };
}

/**
 * The canonical wire form with angle brackets: "<>", "<postmaster>",
 * "<@a,@b:user@c>". Throws RangeError for a Path no parse could have produced
 * (a control character or a lone surrogate anywhere): a command line must
 * never carry one.
 */
export function formatPath(path: Path): string {
  if (path.mailbox === null) return '<>';
  const route = path.route.length === 0 ? '' : `@${path.route.join(',@')}:`;
  return checked(`<${route}${formatMailbox(path.mailbox)}>`);
}

/** Local part (quoted only when it is not a Dot-string) "@" domain; IPv6 literals as "[IPv6:…]". */
export function formatMailbox(mailbox: Mailbox): string {
  const lp = mailbox.localPart;
  const local =
    lp.length > 0 && scanDotString(lp, 0) === lp.length
      ? lp
      : `"${lp.replace(QUOTED_SPECIALS, '\\$&')}"`;
  if (mailbox.domain === null) return checked(local);
  const lit = mailbox.addressLiteral;
  const domain =
    lit === null ? mailbox.domain : lit.family === 6 ? `[IPv6:${lit.address}]` : `[${lit.address}]`;
  return checked(`${local}@${domain}`);
}

// --- character classes -----------------------------------------------------

const LT = 0x3c;
const GT = 0x3e;
const AT = 0x40;
const DOT = 0x2e;
const COMMA = 0x2c;
const COLON = 0x3a;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const HYPHEN = 0x2d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

const ATEXT = 1; // RFC 5322 §3.2.3
const LETDIG = 2; // RFC 5321 §4.1.2 Let-dig
const QTEXT = 4; // RFC 5321 §4.1.2 qtextSMTP: %d32-33 / %d35-91 / %d93-126
const DIGIT = 8;
const UPPER = 16;
const DCONTENT = 32; // RFC 5321 §4.1.3 dcontent: %d33-90 / %d94-126

const CLASS = new Uint8Array(128);
for (let c = 0x20; c <= 0x7e; c++) {
  if (c !== DQUOTE && c !== BACKSLASH) CLASS[c]! |= QTEXT;
  if (c !== 0x20 && c !== LBRACKET && c !== BACKSLASH && c !== RBRACKET) CLASS[c]! |= DCONTENT;
}
for (const ch of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~") {
  CLASS[ch.charCodeAt(0)]! |= ATEXT;
}
for (let c = 0x30; c <= 0x39; c++) CLASS[c]! |= LETDIG | DIGIT;
for (let c = 0x41; c <= 0x5a; c++) CLASS[c]! |= LETDIG | UPPER;
for (let c = 0x61; c <= 0x7a; c++) CLASS[c]! |= LETDIG;

const QUOTED_SPECIALS = /["\\]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** What the last scanner saw; the scanners are synchronous, so one scratch suffices. */
const scratch = {
  nonAscii: false,
  upper: false,
  escaped: false,
  literal: { family: 4, address: '' } as AddressLiteral,
};

const NO_ROUTE: readonly string[] = Object.freeze([]);
const NULL_PATH: Path = Object.freeze({ route: NO_ROUTE, mailbox: null, raw: '' });
const FAIL = {
  syntax: Object.freeze({ ok: false, error: 'syntax' }),
  'path-too-long': Object.freeze({ ok: false, error: 'path-too-long' }),
  'local-part-too-long': Object.freeze({ ok: false, error: 'local-part-too-long' }),
  'domain-too-long': Object.freeze({ ok: false, error: 'domain-too-long' }),
  'utf8-not-allowed': Object.freeze({ ok: false, error: 'utf8-not-allowed' }),
} as const satisfies Record<PathError, { ok: false; error: PathError }>;

/**
 * Code units taken by the non-ASCII character at `i` (RFC 6531 UTF8-non-ascii):
 * 2 for a surrogate pair, 1 otherwise, 0 for what is refused: a lone surrogate
 * (cannot be UTF-8) or a C1 control (U+0080-U+009F, NEL among them).
 */
function nonAsciiWidth(s: string, i: number, c: number): number {
  if (c < 0xa0) return 0;
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = s.charCodeAt(i + 1);
    return d >= 0xdc00 && d <= 0xdfff ? 2 : 0;
  }
  if (c >= 0xdc00 && c <= 0xdfff) return 0;
  return 1;
}

/** UTF-8 octets of s[a, b), which holds no lone surrogate. */
function utf8Length(s: string, a: number, b: number): number {
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdfff ? 2 : 3;
  }
  return n;
}

/** Dot-string = Atom *("." Atom): the index past it, or -1. Sets scratch.nonAscii. */
function scanDotString(s: string, i: number): number {
  let nonAscii = false;
  let atomStart = true;
  for (;;) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (CLASS[c]! & ATEXT) {
        atomStart = false;
        i += 1;
        continue;
      }
      if (c === DOT && !atomStart) {
        atomStart = true;
        i += 1;
        continue;
      }
      break;
    }
    if (c >= 0x80) {
      const w = nonAsciiWidth(s, i, c);
      if (w === 0) return -1;
      nonAscii = true;
      atomStart = false;
      i += w;
      continue;
    }
    break; // end of string (NaN)
  }
  scratch.nonAscii = nonAscii;
  return atomStart ? -1 : i;
}

/** Quoted-string at `i` (the opening quote): the index past the closing quote, or -1. */
function scanQuoted(s: string, i: number): number {
  let nonAscii = false;
  let escaped = false;
  i += 1;
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === DQUOTE) break;
    if (c === BACKSLASH) {
      // quoted-pairSMTP = %d92 %d32-126
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0x20 && d <= 0x7e)) return -1;
      escaped = true;
      i += 2;
    } else if (c < 0x80) {
      if (!(CLASS[c]! & QTEXT)) return -1;
      i += 1;
    } else if (c >= 0x80) {
      const w = nonAsciiWidth(s, i, c);
      if (w === 0) return -1;
      nonAscii = true;
      i += w;
    } else {
      return -1; // no closing quote
    }
  }
  scratch.nonAscii = nonAscii;
  scratch.escaped = escaped;
  return i + 1;
}

function unescapeQuoted(inner: string): string {
  return inner.replace(/\\(.)/g, '$1');
}

/**
 * Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str] or a
 * U-label: the index past it, or -1. ASCII labels are at most 63 octets
 * (RFC 1035 §2.3.4); a domain whose last label is all digits is refused
 * (RFC 3696 §2), so that an IP address can only arrive as an address literal.
 * Sets scratch.nonAscii and scratch.upper.
 */
function scanDomain(s: string, i: number): number {
  let nonAscii = false;
  let upper = false;
  for (;;) {
    const labelStart = i;
    let labelNonAscii = false;
    let allDigits = true;
    let lastHyphen = false;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        const k = CLASS[c]!;
        if (k & LETDIG) {
          if (k & UPPER) upper = true;
          if (!(k & DIGIT)) allDigits = false;
          lastHyphen = false;
          i += 1;
          continue;
        }
        if (c === HYPHEN) {
          allDigits = false;
          lastHyphen = true;
          i += 1;
          continue;
        }
        break;
      }
      if (c >= 0x80) {
        const w = nonAsciiWidth(s, i, c);
        if (w === 0) return -1;
        labelNonAscii = true;
        allDigits = false;
        lastHyphen = false;
        i += w;
        continue;
      }
      break;
    }
    if (i === labelStart || lastHyphen || s.charCodeAt(labelStart) === HYPHEN) return -1;
    if (!labelNonAscii && i - labelStart > 63) return -1;
    if (labelNonAscii) nonAscii = true;
    if (s.charCodeAt(i) === DOT) {
      i += 1;
      continue;
    }
    if (allDigits) return -1;
    break;
  }
  scratch.nonAscii = nonAscii;
  scratch.upper = upper;
  return i;
}

function asciiLower(d: string): string {
  return d.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function isPostmaster(lp: string): boolean {
  return lp.length === 10 && lp.toLowerCase() === 'postmaster';
}

/**
 * address-literal = "[" ( IPv4-address-literal / "IPv6:" IPv6-addr ) "]" at
 * `i`: the index past "]", or -1. Sets scratch.literal.
 */
function scanAddressLiteral(s: string, i: number): number {
  const start = i + 1;
  let j = start;
  for (;;) {
    const c = s.charCodeAt(j);
    if (c === RBRACKET) break;
    if (!(c < 0x80 && (CLASS[c]! & DCONTENT) !== 0)) return -1;
    j += 1;
  }
  const literal = parseAddressLiteral(s.slice(start, j));
  if (literal === null) return -1;
  scratch.literal = literal;
  return j + 1;
}

function checked(wire: string): string {
  if (CONTROL.test(wire) || !wire.isWellFormed()) {
    throw new RangeError('path holds a control character or a lone surrogate');
  }
  return wire;
}
