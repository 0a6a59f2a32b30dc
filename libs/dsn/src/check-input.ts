// The checks on what the caller passes in. The caller's values come from
// parsed SMTP paths, its own configuration and its own ids, so a value that
// fails here is a bug upstream, and buildDsn throws (DsnError 'invalid-input')
// rather than let it shape a header: nothing from these values can add a
// line, a field or a MIME part.
//
// Does not: check remote text (remote-text.ts cleans it instead: a bounce must
// be made whatever a remote server said), or the original message's octets
// (original.ts). Dates are checked by formatting them (date-format.ts).
//
// RFC 5321 §4.1.2 and §4.5.3.1.3 (paths), RFC 1035 §2.3.1 (host names),
// RFC 5322 §3.6.4 (msg-id), RFC 2046 §5.1.1 (boundary), RFC 3463 §2 (status),
// RFC 3464 §2.3.3-4 (action and status agree).

import { formatDate } from './date-format.js';
import { invalid } from './dsn-error.js';
import { ACTIONS } from './outcome.js';
import type { DsnAction, DsnInput, DsnRecipient } from './types.js';

/** RFC 5321 §4.5.3.1.3: 256 octets for a path; room for a UTF-8 one, never near 998. */
const MAX_ADDRESS_OCTETS = 512;
const MAX_ID = 255;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** RFC 2046 §5.1.1 bchars, 1 to 70 of them, not ending with a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
/** RFC 3463 §2: class "." subject "." detail, 1-3 digits each, no leading zero. */
const STATUS = /^([245])\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/;

/** Every check on a DsnInput but the original's octets (original.ts). */
export function checkDsnInput(input: DsnInput): void {
  checkHostName(input.reportingMta, 'reportingMta');
  formatDate(input.arrivalDate, 'arrivalDate');
  formatDate(input.date, 'date');
  checkToken(input.queueId, 'queueId');
  checkMessageId(input.messageId);
  checkBoundary(input.boundary);
  checkAddress(input.to, 'to');
  if (input.recipients.length === 0) throw invalid('recipients is empty');
  input.recipients.forEach(checkRecipient);
  const ret = input.returnContent;
  if (ret !== undefined && ret !== 'headers' && ret !== 'full') {
    throw invalid('returnContent must be "headers" or "full"');
  }
  if (!(input.original instanceof Uint8Array)) throw invalid('original must be a Uint8Array');
}

function checkRecipient(r: DsnRecipient, i: number): void {
  const what = `recipients[${i}]`;
  if (!ACTIONS.includes(r.action)) throw invalid(`${what}.action is not an RFC 3464 action`);
  checkAddress(r.finalRecipient, `${what}.finalRecipient`);
  if (r.originalRecipient !== undefined) {
    checkAddress(r.originalRecipient, `${what}.originalRecipient`);
  }
  checkStatus(r.status, r.action, what);
  if (r.remoteMta !== undefined) checkToken(r.remoteMta, `${what}.remoteMta`);
  const d = r.diagnostic;
  if (d !== undefined) {
    if (d.type !== 'smtp' && d.type !== 'x-petrel') {
      throw invalid(`${what}.diagnostic.type must be "smtp" or "x-petrel"`);
    }
    const lines: readonly unknown[] = typeof d.text === 'string' ? [d.text] : d.text;
    if (!Array.isArray(lines) || !lines.every((l) => typeof l === 'string')) {
      throw invalid(`${what}.diagnostic.text must be a string or an array of strings`);
    }
  }
  if (r.lastAttemptDate !== undefined) formatDate(r.lastAttemptDate, `${what}.lastAttemptDate`);
  if (r.willRetryUntil !== undefined) formatDate(r.willRetryUntil, `${what}.willRetryUntil`);
  // RFC 3464 §2.3.9: Will-Retry-Until only in a "delayed" report.
  if (r.willRetryUntil !== undefined && r.action !== 'delayed') {
    throw invalid(`${what}.willRetryUntil is only for action "delayed"`);
  }
}

/** A mailbox without angle brackets: printable, well-formed Unicode, at most 512 octets. */
export function checkAddress(value: string, what: string): void {
  if (value.length === 0) throw invalid(`${what} is empty`);
  if (CONTROL.test(value) || !value.isWellFormed()) {
    throw invalid(`${what} holds a control character or a lone surrogate`);
  }
  if (value.startsWith('<') && value.endsWith('>')) {
    throw invalid(`${what} must be given without angle brackets`);
  }
  if (Buffer.byteLength(value, 'utf8') > MAX_ADDRESS_OCTETS) {
    throw invalid(`${what} is longer than ${MAX_ADDRESS_OCTETS} octets`);
  }
}

/** Petrel's own host name: LDH labels (an A-label when internationalised). */
export function checkHostName(value: string, what: string): void {
  if (!HOST_NAME.test(value)) throw invalid(`${what} is not a host name`);
}

/** A token that goes into a field as it is: visible ASCII, no space, at most 255 characters. */
export function checkToken(value: string, what: string): void {
  if (!VISIBLE_ASCII.test(value) || value.length > MAX_ID) {
    throw invalid(`${what} must be 1 to ${MAX_ID} visible ASCII characters`);
  }
}

/** RFC 5322 §3.6.4 msg-id without its angle brackets: id-left "@" id-right. */
export function checkMessageId(value: string): void {
  checkToken(value, 'messageId');
  const at = value.lastIndexOf('@');
  if (/[<>]/.test(value) || at <= 0 || at === value.length - 1) {
    throw invalid('messageId must be id-left "@" id-right, without angle brackets');
  }
}

export function checkBoundary(value: string): void {
  if (!BOUNDARY.test(value)) throw invalid('boundary must be 1 to 70 RFC 2046 bchars');
}

/** The RFC 3463 status, and its class agreeing with the action (RFC 3464 §2.3.3-4). */
export function checkStatus(status: string, action: DsnAction, what: string): void {
  const m = STATUS.exec(status);
  if (m === null) throw invalid(`${what} status is not an RFC 3463 code`);
  const success = action === 'delivered' || action === 'relayed' || action === 'expanded';
  if (success !== (m[1] === '2')) {
    throw invalid(`${what} status class does not agree with action ${action}`);
  }
}

export function isAscii(value: string): boolean {
  return !/[\u0080-\uffff]/.test(value);
}
