// Inputs for the DSN tests: one small, valid DsnInput that each test changes
// only where it matters, and the helpers that look at the bytes as lines.

import type { DsnInput, DsnRecipient } from '../../src/index.js';

export const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): Date =>
  new Date(Date.UTC(y, mo - 1, d, h, mi, s));

export const ORIGINAL =
  'Return-Path: <alice@example.org>\r\n' +
  'Received: from client.example.org (client.example.org [192.0.2.10])\r\n' +
  '\tby mx.petrel.test (Petrel) with ESMTP id Q7K2M9\r\n' +
  '\tfor <bob@example.net>; Tue, 01 Jul 2025 09:05:03 +0000\r\n' +
  'From: Alice <alice@example.org>\r\n' +
  'To: Bob <bob@example.net>\r\n' +
  'Subject: Lunch\r\n' +
  'Message-ID: <lunch.1@example.org>\r\n' +
  '\r\n' +
  'Shall we meet at noon?\r\n';

export const FAILED_BOB: DsnRecipient = {
  finalRecipient: 'bob@example.net',
  action: 'failed',
  status: '5.1.1',
  remoteMta: 'mx.example.net',
  diagnostic: { type: 'smtp', text: '550 5.1.1 <bob@example.net>: No such user' },
  lastAttemptDate: utc(2025, 7, 1, 9, 5, 30),
};

export function input(overrides: Partial<DsnInput> = {}): DsnInput {
  return {
    reportingMta: 'mx.petrel.test',
    queueId: 'Q7K2M9',
    arrivalDate: utc(2025, 7, 1, 9, 5, 3),
    date: utc(2025, 7, 1, 9, 5, 31),
    messageId: 'Q7K2M9.1@mx.petrel.test',
    boundary: 'Q7K2M9.1/mx.petrel.test',
    to: 'alice@example.org',
    recipients: [FAILED_BOB],
    original: Buffer.from(ORIGINAL, 'utf8'),
    ...overrides,
  };
}

/** The lines of a message, split at CRLF (the last, empty, piece after the final CRLF dropped). */
export function lines(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n', start, 'latin1');
    if (end < 0) break;
    out.push(bytes.subarray(start, end));
    start = end + 2;
  }
  if (start < bytes.length) out.push(bytes.subarray(start));
  return out;
}

/** True when every CR is followed by LF and every LF follows a CR. */
export function onlyCrlf(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] !== 10) return false;
    if (bytes[i] === 10 && bytes[i - 1] !== 13) return false;
  }
  return true;
}
