// The command lines the sender-SMTP machine writes, built in one place so that
// one check guards them all: no CR, LF or NUL inside a line (a stored envelope
// field replayed into a command must not smuggle a second command, SAFETY.md),
// and no line longer than the command-line limit (RFC 5321 §4.5.3.1.4).
//
// Does not: decide when a command is sent (client-dialog.ts and
// client-transaction.ts do).

import type { Extensions } from './extensions.js';
import { formatMailParameters } from './mail-parameters.js';
import { formatPath } from './path-parser.js';
import type { OutboundTransaction } from './client-types.js';
import type { MailParameters, Path, TransactionVerb } from './types.js';

/** One command line as octets, CRLF added. Throws when the line could break framing or is too long. */
export function commandLine(text: string, maxOctets: number): Buffer {
  if (/[\r\n\0]/.test(text)) {
    throw new RangeError(
      `command line would carry CR, LF or NUL: ${JSON.stringify(text.slice(0, 80))}`,
    );
  }
  const line = Buffer.from(`${text}\r\n`, 'utf8');
  if (line.length > maxOctets) {
    throw new RangeError(
      `command line of ${line.length} octets exceeds ${maxOctets}: ${text.slice(0, 40)}...`,
    );
  }
  return line;
}

/** True when a path has a non-ASCII octet (RFC 6531 §3.3), route included. */
function utf8Path(path: Path): boolean {
  return /[\u0080-\uffff]/.test(formatPath(path));
}

/** The transaction needs SMTPUTF8: declared so, or any path is non-ASCII. */
export function needsSmtputf8(tx: OutboundTransaction): boolean {
  return tx.smtputf8 || utf8Path(tx.reversePath) || tx.recipients.some(utf8Path);
}

/**
 * "MAIL FROM:<path>" (or SEND/SOML/SAML) with the parameters the next hop
 * offers: SIZE= (RFC 1870 §6), BODY=8BITMIME (RFC 6152 §2; without 8BITMIME
 * an 8-bit body is still sent, as Postfix does by default), SMTPUTF8 (RFC 6531
 * §3.4; the caller has checked the next hop offers it).
 */
export function mailCommand(
  verb: TransactionVerb,
  tx: OutboundTransaction,
  ext: Extensions,
): string {
  const params: MailParameters = {
    ...(ext.size ? { size: tx.size } : {}),
    ...(tx.eightBit && ext.eightBitMime ? { body: '8BITMIME' as const } : {}),
    ...(ext.smtputf8 && needsSmtputf8(tx) ? { smtputf8: true as const } : {}),
  };
  return `${verb} FROM:${formatPath(tx.reversePath)}${formatMailParameters(params)}`;
}

export function rcptCommand(path: Path): string {
  return `RCPT TO:${formatPath(path)}`;
}

/** RFC 4616 §2 message with an empty authzid, base64 (RFC 4954 §4). */
export function plainResponse(username: string, password: string): string {
  if (username.includes('\0') || password.includes('\0')) {
    throw new RangeError('AUTH PLAIN credentials may not contain NUL');
  }
  return base64(`\0${username}\0${password}`);
}

export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
