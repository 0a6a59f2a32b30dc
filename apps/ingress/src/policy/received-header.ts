// The trace header ingress prepends to every message, and the hop count that
// stops mail loops.
//
//   Received: from client.example ([192.0.2.1])
//   	(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)
//   	by mx.example (Petrel) with ESMTPS id 01J9Z3
//   	for <user@example.test>; Tue, 1 Jul 2025 12:34:56 +0000
//
// Without exactly one recipient there is no "for" clause and the date follows
// the id ("id 01J9Z3;" then the date on its own line). The client's address is
// always the one the connection came from (after PROXY protocol), written as
// an address literal, IPv4-mapped IPv6 as plain IPv4, IPv6 as [IPv6:…]. A HELO
// name that is not a domain or an address literal (or is absent) is never
// written as the "from" domain: the client's address literal stands there and
// a sanitised copy of the name follows in a comment, "(EHLO bad_name)".
//
// Invariants: the header is ASCII, every line ends in CRLF and is shorter than
// 998 octets (RFC 5322 §2.1.1), no CR, LF or other control character from
// any input reaches it, and continuation lines start with a tab. The date is
// in UTC ("+0000"). The hostname and id are ours: one that is not a domain or
// an atom is a configuration bug and throws RangeError.
//
// Does not: look up the client's reverse DNS, write UTF-8 (RFC 6532) forms, or
// add the RFC 6531 UTF8SMTP protocol names.
//
// RFC 5321 §4.4 (trace information), §3.6.1-2 and §6.3 (loops, hop count),
// RFC 5322 §3.3 (date-time), §3.6.7 (trace fields), RFC 3848 (with protocol
// types), RFC 8314 §4.3 ("using" TLS comment practice).

import { parseAddressLiteral } from '@petrel/smtp';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6, unmapIPv4 } from './ip-address.js';

/** RFC 3848 "with" protocol types. */
export type ReceivedProtocol = 'SMTP' | 'ESMTP' | 'ESMTPS' | 'ESMTPA' | 'ESMTPSA';

export interface ReceivedInput {
  heloVerb: 'HELO' | 'EHLO' | null;
  heloName: string | null;
  clientAddress: string;
  /** Our own name, a domain. */
  hostname: string;
  protocol: ReceivedProtocol;
  /** The queue id, an atom. */
  id: string;
  /** The one recipient ("user@example.test", no brackets), or null when there are several. */
  recipient: string | null;
  date: Date;
  tls?: { protocol: string; cipher: string } | null;
}

export function receivedHeader(input: ReceivedInput): string {
  if (!isDomain(input.hostname))
    throw new RangeError('the hostname for Received: is not a domain name');
  if (!ATOM.test(input.id)) throw new RangeError('the queue id for Received: is not an atom');

  const literal = clientLiteral(input.clientAddress);
  const helo = input.heloName === null ? null : heloDomain(input.heloName);
  let from: string;
  if (helo !== null) {
    from = literal === null ? helo : `${helo} (${literal})`;
  } else {
    from = literal === null ? 'unknown' : `${literal} (${literal})`;
    if (input.heloName !== null)
      from += ` (${input.heloVerb ?? 'HELO'} ${commentText(input.heloName)})`;
  }

  let header = `Received: from ${from}\r\n`;
  if (input.tls) {
    header += `\t(using ${commentText(input.tls.protocol)} with cipher ${commentText(input.tls.cipher)})\r\n`;
  }
  header += `\tby ${input.hostname} (Petrel) with ${input.protocol} id ${input.id}`;
  const rcpt = input.recipient === null ? null : forPath(input.recipient);
  const date = rfc5322Date(input.date);
  header += rcpt === null ? `;\r\n\t${date}\r\n` : `\r\n\tfor <${rcpt}>; ${date}\r\n`;
  return header;
}

/** RFC 3848: SMTP for HELO sessions; ESMTP plus S for TLS and A for AUTH otherwise. */
export function receivedProtocol(
  extended: boolean,
  tls: boolean,
  authenticated: boolean,
): ReceivedProtocol {
  // TLS and AUTH are extensions: a session that used either was extended SMTP,
  // whichever greeting it repeated afterwards.
  if (!extended && !tls && !authenticated) return 'SMTP';
  return tls ? (authenticated ? 'ESMTPSA' : 'ESMTPS') : authenticated ? 'ESMTPA' : 'ESMTP';
}

/**
 * The "Received:" header fields (field name in any case, white space allowed
 * before the colon as RFC 5322 §4.5.3's obsolete syntax does) at line starts
 * in the header section, which ends at the first empty line; continuation
 * lines and the body are not looked at. Lines may end in CRLF or a bare LF,
 * and lines may span slices. Returns as soon as the count exceeds `stopAfter`,
 * so the answer is min(count, stopAfter + 1).
 */
export function countReceivedHeaders(body: readonly Buffer[], stopAfter: number): number {
  let count = 0;
  let state = LINE_START;
  let matched = 0;
  for (const slice of body) {
    for (let i = 0; i < slice.length; i++) {
      const c = slice[i]!;
      switch (state) {
        case LINE_START:
          if (c === LF) return count; // an empty line (bare LF) ends the header section
          if (c === CR) state = CR_AT_START;
          else if ((c | 0x20) === NAME[0]) {
            state = IN_NAME;
            matched = 1;
          } else state = SKIP;
          break;
        case CR_AT_START:
          if (c === LF) return count;
          state = SKIP;
          break;
        case IN_NAME:
          if (matched < NAME.length && (c | 0x20) === NAME[matched]) {
            matched += 1;
          } else if (matched === NAME.length && (c === SP || c === HTAB)) {
            // obsolete white space before the colon
          } else if (matched === NAME.length && c === COLON) {
            count += 1;
            if (count > stopAfter) return count;
            state = SKIP;
          } else {
            state = c === LF ? LINE_START : SKIP;
          }
          break;
        default: {
          // SKIP: jump to the end of the line.
          const lf = slice.indexOf(LF, i);
          if (lf < 0) i = slice.length;
          else {
            i = lf;
            state = LINE_START;
          }
        }
      }
    }
  }
  return count;
}

// --- pieces -------------------------------------------------------------------

const LINE_START = 0;
const CR_AT_START = 1;
const IN_NAME = 2;
const SKIP = 3;
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const NAME = Array.from('received', (ch) => ch.charCodeAt(0));

/** RFC 5322 §3.2.3 atext, as the id must be one atom; bounded. */
const ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]{1,128}$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** An ASCII domain (RFC 5321 §4.1.2 Domain), at most 255 octets, no trailing dot, last label not all digits. */
function isDomain(text: string): boolean {
  if (text.length === 0 || text.length > 255) return false;
  const labels = text.split('.');
  return labels.every((l) => LABEL.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

/** The HELO name as the "from" domain: a domain as written, a literal canonical; null otherwise. */
function heloDomain(name: string): string | null {
  if (isDomain(name)) return name;
  if (name.startsWith('[') && name.endsWith(']')) {
    const lit = parseAddressLiteral(name.slice(1, -1));
    if (lit !== null) return lit.family === 6 ? `[IPv6:${lit.address}]` : `[${lit.address}]`;
  }
  return null;
}

/** The connection's address as an RFC 5321 §4.1.3 literal, or null when it is not an IP address. */
function clientLiteral(address: string): string | null {
  if (!address.includes(':')) {
    const v4 = parseIPv4(address);
    return v4 < 0 ? null : `[${formatIPv4(v4)}]`;
  }
  const zone = address.indexOf('%');
  const v6 = parseIPv6(zone < 0 ? address : address.slice(0, zone));
  if (v6 === null) return null;
  const v4 = unmapIPv4(v6);
  return v4 >= 0 ? `[${formatIPv4(v4)}]` : `[IPv6:${formatIPv6(v6)}]`;
}

/**
 * Text safe inside a comment (RFC 5322 §3.2.2 ctext): printable ASCII without
 * parentheses or backslash, anything else as '?', at most 64 characters.
 */
function commentText(text: string): string {
  const safe = text.replace(/[^\x21-\x27\x2a-\x5b\x5d-\x7e]/g, '?');
  return safe.length > 64 ? `${safe.slice(0, 61)}...` : safe;
}

/**
 * The recipient for "for <…>", or null to leave the clause out: empty, over
 * 512 octets, or holding anything but printable ASCII (a control character
 * never reaches the header; a UTF-8 address would need RFC 6532).
 */
function forPath(recipient: string): string | null {
  if (recipient.length === 0 || recipient.length > 512 || /[^\x20-\x7e]/.test(recipient)) {
    return null;
  }
  return recipient;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 §3.3 date-time in UTC: "Tue, 1 Jul 2025 12:34:56 +0000". */
function rfc5322Date(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new RangeError('the date for Received: is invalid');
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}
