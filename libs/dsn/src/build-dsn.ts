// buildDsn: a delivery status notification as the bytes to enqueue, from the
// null reverse-path <>, to the original's reverse-path. Both routing
// (recipients it cannot route) and egress (5yz replies, expiry, delay
// warnings) build their bounces here.
//
// The message (RFC 6522 multipart/report, RFC 3464):
//   header: From: Mail Delivery System <MAILER-DAEMON@reportingMta>, To,
//     Subject (by the worst action, outcome.ts), Date, Message-ID,
//     MIME-Version, Auto-Submitted: auto-replied (RFC 3834 §5), Content-Type
//     multipart/report; report-type=delivery-status (or
//     global-delivery-status: RFC 6522 §3, the subtype of the second part),
//     Content-Transfer-Encoding;
//   1. text/plain, the human explanation (human-text.ts);
//   2. message/delivery-status or message/global-delivery-status
//      (delivery-status.ts);
//   3. the original's header section or the whole original (original.ts).
//
// Invariants, checked before returning (a failure is DsnError 'internal'):
// - Every generated line ends with CRLF and is at most 998 octets; the
//   original is copied byte for byte and was checked to be CRLF-only, so the
//   DSN holds no bare CR or LF anywhere (SAFETY.md "SMTP smuggling").
// - The boundary occurs nowhere in the body of a part (the original, the
//   human text, the delivery status): anywhere, not only at a line start,
//   which is stricter than RFC 2046 §5.1.1 needs and simple to reason about.
//   When it does, buildDsn throws DsnError 'boundary-collision' and the caller
//   retries with another boundary (this library never invents one). Part
//   header fields are constants and are not searched.
// - A DSN with no non-ASCII address (utf8 false) is pure ASCII apart from
//   the returned original; eightBit is true exactly when any octet is over 127.
// - The DSN ends with CRLF.
//
// Does not: read the clock or make ids (date, messageId and boundary are
// inputs), decide whether a DSN is due (the caller never asks for one to <>),
// honour NOTIFY/ENVID/ORCPT (Petrel does not offer RFC 3461), shorten a large
// original, or send anything.

import { isAscii, checkDsnInput } from './check-input.js';
import { formatDate } from './date-format.js';
import { deliveryStatusBody } from './delivery-status.js';
import { DsnError } from './dsn-error.js';
import { foldField, HARD_LIMIT } from './fold.js';
import { humanText } from './human-text.js';
import { checkOriginal, hasEightBit, returnedPart } from './original.js';
import { outcomeOf, SUBJECTS } from './outcome.js';
import type { Dsn, DsnInput } from './types.js';

interface Part {
  /** The part's header fields, each without its CRLF. */
  readonly fields: readonly string[];
  readonly body: Uint8Array;
  readonly eightBit: boolean;
}

const PREAMBLE = 'This is a MIME-encapsulated message.\r\n';

export function buildDsn(input: DsnInput): Dsn {
  checkDsnInput(input);
  checkOriginal(input.original);

  const utf8 =
    !isAscii(input.to) ||
    input.recipients.some(
      (r) =>
        !isAscii(r.finalRecipient) ||
        (r.originalRecipient !== undefined && !isAscii(r.originalRecipient)),
    );
  const outcome = outcomeOf(input.recipients);
  const content = input.returnContent ?? 'headers';
  const boundary = input.boundary;

  const text = Buffer.from(humanText(input, outcome, utf8), 'utf8');
  const status = Buffer.from(deliveryStatusBody(input, utf8), 'utf8');
  const returned = returnedPart(input.original, content);
  const statusType = utf8 ? 'global-delivery-status' : 'delivery-status';
  const undelivered = outcome === 'success' ? '' : 'Undelivered ';

  const parts: Part[] = [
    {
      fields: [
        'Content-Description: Notification',
        `Content-Type: text/plain; charset=${utf8 ? 'utf-8' : 'us-ascii'}`,
      ],
      body: text,
      eightBit: hasEightBit(text),
    },
    {
      fields: ['Content-Description: Delivery report', `Content-Type: message/${statusType}`],
      body: status,
      eightBit: hasEightBit(status),
    },
    {
      fields: [
        `Content-Description: ${undelivered}Message${content === 'headers' ? ' Headers' : ''}`,
        `Content-Type: ${returned.contentType}`,
      ],
      body: returned.bytes,
      eightBit: returned.eightBit,
    },
  ];
  const eightBit = utf8 || parts.some((p) => p.eightBit);

  const header = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    foldField('To', [`<${input.to}>`]),
    `Subject: ${SUBJECTS[outcome]}`,
    `Date: ${formatDate(input.date, 'date')}`,
    `Message-ID: <${input.messageId}>`,
    'MIME-Version: 1.0',
    'Auto-Submitted: auto-replied',
    foldField('Content-Type', [
      'multipart/report;',
      `report-type=${statusType};`,
      `boundary="${boundary}"`,
    ]),
    `Content-Transfer-Encoding: ${eightBit ? '8bit' : '7bit'}`,
  ];

  const chunks: Uint8Array[] = [Buffer.from(`${header.join('\r\n')}\r\n\r\n${PREAMBLE}`, 'utf8')];
  for (const part of parts) {
    const fields = [
      ...part.fields,
      `Content-Transfer-Encoding: ${part.eightBit ? '8bit' : '7bit'}`,
    ];
    const head = Buffer.from(`\r\n--${boundary}\r\n${fields.join('\r\n')}\r\n\r\n`, 'utf8');
    if (contains(part.body, boundary)) {
      throw new DsnError(
        'boundary-collision',
        'the boundary occurs in the content; retry with another boundary',
      );
    }
    chunks.push(head, part.body);
  }
  chunks.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'));

  for (const chunk of chunks) {
    if (chunk !== returned.bytes) checkGenerated(chunk, utf8);
  }
  return { bytes: Buffer.concat(chunks), eightBit, utf8 };
}

function contains(bytes: Uint8Array, needle: string): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).includes(needle, 0, 'latin1');
}

/** The invariants of what this library writes: CRLF only, lines of at most 998 octets, ASCII unless utf8. */
function checkGenerated(chunk: Uint8Array, utf8: boolean): void {
  let lineStart = 0;
  for (let i = 0; i < chunk.length; i++) {
    const b = chunk[i]!;
    if (b === 0x0d) {
      if (chunk[i + 1] !== 0x0a) throw internal('a bare CR');
      if (i - lineStart > HARD_LIMIT) throw internal('a line over 998 octets');
      i += 1;
      lineStart = i + 1;
    } else if (b === 0x0a) {
      throw internal('a bare LF');
    } else if (b > 0x7f && !utf8) {
      throw internal('a non-ASCII octet in a 7-bit DSN');
    }
  }
  if (chunk.length - lineStart > HARD_LIMIT) throw internal('a line over 998 octets');
}

function internal(what: string): DsnError {
  return new DsnError('internal', `the generated DSN holds ${what}`);
}
