// The machine-readable part: the body of message/delivery-status (RFC 3464
// §2.1), or of message/global-delivery-status when the DSN is a UTF-8 one
// (RFC 6533 §3).
//
// Contract:
// - Per-message fields, then one group per recipient, each group preceded by
//   an empty line; every field ends with CRLF. Field order follows the RFC
//   3464 §2.2 and §2.3 grammar: Reporting-MTA, Arrival-Date, then the
//   extension field X-Petrel-Queue-ID (§2.4); Original-Recipient,
//   Final-Recipient, Action, Status, Remote-MTA, Diagnostic-Code,
//   Last-Attempt-Date, Will-Retry-Until.
// - Addresses are "rfc822; <addr>", or "utf-8; <addr>" for a non-ASCII one
//   (RFC 6533 §3 utf-8-address, only in the global form).
// - Diagnostic-Code carries the cleaned remote text (remote-text.ts) folded at
//   78 octets, never a line over 998.
//
// Does not: validate its inputs (build-dsn.ts does, before calling), emit
// Original-Envelope-ID, Received-From-MTA or Final-Log-ID (Petrel does not
// offer the DSN extension, RFC 3461).

import { formatDate } from './date-format.js';
import { foldField } from './fold.js';
import { isAscii } from './check-input.js';
import { remoteTextWords } from './remote-text.js';
import type { DsnInput, DsnRecipient } from './types.js';

export function deliveryStatusBody(input: DsnInput, utf8: boolean): string {
  const fields = [
    field('Reporting-MTA', ['dns;', input.reportingMta]),
    field('Arrival-Date', [formatDate(input.arrivalDate, 'arrivalDate')]),
    field('X-Petrel-Queue-ID', [input.queueId]),
  ];
  const groups = input.recipients.map((r, i) => recipientFields(r, i, utf8).join(''));
  return [fields.join(''), ...groups].join('\r\n');
}

function recipientFields(r: DsnRecipient, i: number, utf8: boolean): string[] {
  const what = `recipients[${i}]`;
  const out: string[] = [];
  if (r.originalRecipient !== undefined) {
    out.push(field('Original-Recipient', address(r.originalRecipient)));
  }
  out.push(field('Final-Recipient', address(r.finalRecipient)));
  out.push(field('Action', [r.action]));
  out.push(field('Status', [r.status]));
  if (r.remoteMta !== undefined) out.push(field('Remote-MTA', ['dns;', r.remoteMta]));
  if (r.diagnostic !== undefined) {
    const words = remoteTextWords(r.diagnostic.text, utf8);
    if (words.length > 0) out.push(field('Diagnostic-Code', [`${r.diagnostic.type};`, ...words]));
  }
  if (r.lastAttemptDate !== undefined) {
    out.push(
      field('Last-Attempt-Date', [formatDate(r.lastAttemptDate, `${what}.lastAttemptDate`)]),
    );
  }
  if (r.willRetryUntil !== undefined) {
    out.push(field('Will-Retry-Until', [formatDate(r.willRetryUntil, `${what}.willRetryUntil`)]));
  }
  return out;
}

function address(addr: string): string[] {
  return [isAscii(addr) ? 'rfc822;' : 'utf-8;', addr];
}

function field(name: string, words: readonly string[]): string {
  return `${foldField(name, words)}\r\n`;
}
