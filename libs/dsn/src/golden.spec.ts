// Golden files: the exact bytes of a few DSNs, under test/golden/. A change to
// the output shows up as a diff of these files. To accept a deliberate change,
// run the tests with PETREL_UPDATE_GOLDEN=1 and review the diff.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAILED_BOB, input, utc } from '../test/support/fixtures.js';
import { buildDsn, type DsnInput } from './index.js';

const GOLDEN = new URL('../test/golden/', import.meta.url);

const CASES: Record<string, DsnInput> = {
  // One recipient refused by the remote MTA; the original's headers returned.
  'failed-one-recipient.eml': input(),
  // A delay warning for a list member, and a delivery, with the whole message returned.
  'delayed-and-delivered-full.eml': input({
    returnContent: 'full',
    date: utc(2025, 7, 1, 13, 5, 3),
    messageId: 'Q7K2M9.2@mx.petrel.test',
    boundary: 'Q7K2M9.2/mx.petrel.test',
    recipients: [
      {
        finalRecipient: 'carol@example.org',
        originalRecipient: 'team@example.net',
        action: 'delayed',
        status: '4.4.1',
        remoteMta: 'mx.example.org',
        diagnostic: {
          type: 'x-petrel',
          text: 'connect to mx.example.org[192.0.2.7]:25: Connection timed out',
        },
        lastAttemptDate: utc(2025, 7, 1, 13, 4, 40),
        willRetryUntil: utc(2025, 7, 6, 9, 5, 3),
      },
      {
        ...FAILED_BOB,
        action: 'delivered',
        status: '2.0.0',
        diagnostic: { type: 'smtp', text: '250 2.0.0 Ok: queued as 4bXyZ1' },
      },
    ],
  }),
};

describe('golden DSNs', () => {
  it.each(Object.keys(CASES))('%s', (name) => {
    const bytes = buildDsn(CASES[name]!).bytes;
    const file = new URL(name, GOLDEN);
    if (process.env['PETREL_UPDATE_GOLDEN'] === '1') writeFileSync(file, bytes);
    expect(bytes.toString('latin1')).toBe(readFileSync(file).toString('latin1'));
  });
});
