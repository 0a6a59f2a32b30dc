// The human-readable first part of the report (RFC 6522 §3: "a
// human-readable explanation"), in the Postfix style: who we are, what
// happened, then one paragraph per recipient saying why, grouped by action,
// and the queue id to quote. RFC 3461 §6.2 asks that the text say what
// happened to which recipient, without leaning on the machine-readable part.
//
// Contract: lines wrapped at 76 octets with a four-space indent on
// continuation lines (a word longer than that stands alone; nothing is ever
// over 998 octets); CRLF after every line. Pure ASCII unless `utf8`, since
// its only non-constant pieces are checked addresses, host names, ids, dates
// and remote text cleaned by remote-text.ts.
//
// Does not: translate, show lastAttemptDate (the machine-readable part has
// it), or quote the original message.

import { formatDate } from './date-format.js';
import { HARD_LIMIT, wrapWords } from './fold.js';
import { ACTIONS, type Outcome } from './outcome.js';
import { remoteTextWords } from './remote-text.js';
import type { DsnAction, DsnInput, DsnRecipient } from './types.js';

const WIDTH = 76;
const INDENT = '    ';

export function humanText(input: DsnInput, outcome: Outcome, utf8: boolean): string {
  const full = input.returnContent === 'full';
  const prose = [
    `This is the mail system at host ${input.reportingMta}.`,
    ...OPENINGS[outcome],
    full ? 'Your message is attached.' : 'The headers of your message are attached.',
    `If you need help, please write to postmaster@${input.reportingMta}, quote` +
      ` the queue ID ${input.queueId}, and include this report.`,
  ];
  const blocks: string[][] = prose.map((p) => wrap(p.split(' '), ''));
  for (const action of ACTIONS) {
    const recipients = input.recipients.filter((r) => r.action === action);
    if (recipients.length === 0) continue;
    blocks.push(wrap(TITLES[action].split(' '), ''));
    for (const r of recipients) blocks.push(wrap(recipientWords(r, utf8), INDENT));
  }
  return blocks.map((lines) => lines.map((l) => `${l}\r\n`).join('')).join('\r\n');
}

const OPENINGS: Readonly<Record<Outcome, readonly string[]>> = {
  failed: [
    'Your message could not be delivered to one or more of its recipients.' +
      ' The report for each recipient is below.',
  ],
  delayed: [
    'This is a warning only: you do not need to send your message again.',
    'Your message has not yet been delivered to one or more of its' +
      ' recipients. The mail system will keep trying; the report for each' +
      ' recipient is below.',
  ],
  success: [
    'Your message was delivered as reported below. Where it reached a' +
      ' mailbox, no further notice will follow; a system further on may still' +
      ' report on it.',
  ],
};

const TITLES: Readonly<Record<DsnAction, string>> = {
  failed: 'Delivery to these recipients failed, and the mail system has given up:',
  delayed: 'Delivery to these recipients is delayed; the mail system keeps trying:',
  delivered: 'Delivered to these recipients:',
  relayed: 'Relayed for these recipients to a system that may not report further:',
  expanded: 'Delivered to these recipients, which forward to further addresses:',
};

const DEFAULT_REASONS: Readonly<Record<DsnAction, string>> = {
  failed: 'delivery failed',
  delayed: 'delivery delayed',
  delivered: 'delivered',
  relayed: 'relayed',
  expanded: 'delivered and expanded',
};

function recipientWords(r: DsnRecipient, utf8: boolean): string[] {
  const who =
    r.originalRecipient === undefined
      ? `<${r.finalRecipient}>:`
      : `<${r.finalRecipient}> (originally <${r.originalRecipient}>):`;
  const words = who.split(' ');
  const d = r.diagnostic;
  const diagnosis = d === undefined ? [] : remoteTextWords(d.text, utf8);
  if (d === undefined || diagnosis.length === 0) {
    words.push(
      ...`${DEFAULT_REASONS[r.action]}, status ${r.status} (${describe(r.status)})`.split(' '),
    );
  } else if (d.type === 'smtp') {
    const from = r.remoteMta === undefined ? 'the remote server' : `host ${r.remoteMta}`;
    words.push(...`${from} said:`.split(' '), ...diagnosis);
  } else {
    words.push(...diagnosis);
  }
  if (r.action === 'delayed' && r.willRetryUntil !== undefined) {
    const until = formatDate(r.willRetryUntil, 'willRetryUntil');
    words.push(...`(the mail system keeps trying until ${until})`.split(' '));
  }
  return words;
}

/** RFC 3463 §3.1 classes and §3.2 subjects, in words. */
function describe(status: string): string {
  const [cls, subject] = status.split('.');
  const what = cls === '2' ? 'success' : cls === '4' ? 'temporary failure' : 'permanent failure';
  return `${what}, ${STATUS_SUBJECTS[subject ?? ''] ?? 'other status'}`;
}

const STATUS_SUBJECTS: Readonly<Record<string, string>> = {
  '0': 'other or undefined status',
  '1': 'addressing status',
  '2': 'mailbox status',
  '3': 'mail system status',
  '4': 'network and routing status',
  '5': 'mail delivery protocol status',
  '6': 'message content or media status',
  '7': 'security or policy status',
};

/** A paragraph's lines: the first flush left, the others starting with `next`. */
function wrap(words: readonly string[], next: string): string[] {
  return wrapWords(words, { first: '', next, soft: WIDTH, hard: HARD_LIMIT });
}
