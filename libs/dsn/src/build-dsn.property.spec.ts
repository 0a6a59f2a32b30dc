// Properties of buildDsn over generated inputs: whatever the remote text says
// and whatever the original holds, the DSN has CRLF line ends only, no line
// over 998 octets, honest eightBit and utf8 flags, and a structure Python's
// email package reads without defects.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { field, parseWithPython } from '../test/support/python-email.js';
import { input, lines, onlyCrlf } from '../test/support/fixtures.js';
import { buildDsn, DsnError, type DsnInput, type DsnRecipient } from './index.js';

const ACTIONS = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'] as const;

const localPart = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9.+_-]{0,20}$/),
  fc.constantFrom('jürgen', '用户', '"john doe"', 'ñandú'),
);
const domain = fc.oneof(
  fc.stringMatching(/^[a-z0-9]{1,12}\.(example|test)$/),
  fc.constantFrom('bücher.example', '例子.example'),
);
const address = fc.tuple(localPart, domain).map(([l, d]) => `${l}@${d}`);
/** Anything a remote server might send, controls and lone surrogates included. */
const remoteText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.array(fc.string({ unit: 'grapheme', maxLength: 120 }), { maxLength: 5 }),
  fc.string({ unit: fc.constantFrom('x', ' ', '\r', '\n', 'é', '\t'), maxLength: 2500 }),
);

const recipient: fc.Arbitrary<DsnRecipient> = fc
  .record({
    finalRecipient: address,
    originalRecipient: fc.option(address, { nil: undefined }),
    action: fc.constantFrom(...ACTIONS),
    detail: fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 999 })),
    diagnostic: fc.option(
      fc.record({ type: fc.constantFrom('smtp' as const, 'x-petrel' as const), text: remoteText }),
      { nil: undefined },
    ),
    remoteMta: fc.option(fc.stringMatching(/^[a-z0-9]{1,10}\.example$/), { nil: undefined }),
    permanent: fc.boolean(),
  })
  .map(({ detail, permanent, ...r }) => {
    const success = r.action !== 'failed' && r.action !== 'delayed';
    const cls = success ? 2 : permanent ? 5 : 4;
    return {
      ...r,
      status: `${cls}.${detail[0]}.${detail[1]}`,
      ...(r.action === 'delayed' ? { willRetryUntil: new Date(Date.UTC(2025, 6, 6)) } : {}),
    };
  });

/** CRLF-clean lines of any octets but CR and LF, each under 998 octets. */
const originalLine = fc
  .uint8Array({ maxLength: 200 })
  .map((a) => Buffer.from(a.map((b) => (b === 13 || b === 10 ? 0x20 : b))));
const original = fc
  .tuple(fc.array(originalLine, { maxLength: 8 }), fc.array(originalLine, { maxLength: 8 }))
  .map(([h, body]) =>
    Buffer.concat([
      ...h.flatMap((l) => [l, Buffer.from('\r\n')]),
      Buffer.from('\r\n'),
      ...body.flatMap((l) => [l, Buffer.from('\r\n')]),
    ]),
  );

const dsnInput: fc.Arbitrary<DsnInput> = fc
  .record({
    to: address,
    recipients: fc.array(recipient, { minLength: 1, maxLength: 4 }),
    original,
    returnContent: fc.constantFrom('headers' as const, 'full' as const),
  })
  .map((o) => input(o));

function isAscii(s: string): boolean {
  return !/[\u0080-\uffff]/.test(s);
}

describe('buildDsn (properties)', () => {
  it('emits CRLF only, no line over 998 octets, and honest flags', () => {
    fc.assert(
      fc.property(dsnInput, (inp) => {
        let dsn;
        try {
          dsn = buildDsn(inp);
        } catch (e) {
          // The only refusal possible here: the boundary turning up in generated octets.
          expect(e).toBeInstanceOf(DsnError);
          expect((e as DsnError).code).toBe('boundary-collision');
          return;
        }
        expect(onlyCrlf(dsn.bytes)).toBe(true);
        expect(dsn.bytes.subarray(-2).toString('latin1')).toBe('\r\n');
        for (const line of lines(dsn.bytes)) expect(line.length).toBeLessThanOrEqual(998);
        expect(dsn.eightBit).toBe(dsn.bytes.some((b) => b > 0x7f));
        const utf8 =
          !isAscii(inp.to) ||
          inp.recipients.some(
            (r) => !isAscii(r.finalRecipient) || !isAscii(r.originalRecipient ?? ''),
          );
        expect(dsn.utf8).toBe(utf8);
        if (!utf8) {
          // Outside the returned original, a 7-bit DSN is ASCII.
          const text = dsn.bytes.toString('latin1');
          const third = text.lastIndexOf(`--${inp.boundary}\r\n`);
          expect(/[\u0080-\uffff]/.test(text.slice(0, third))).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is read by Python as the report it means, one group per recipient', () => {
    fc.assert(
      fc.property(dsnInput, (inp) => {
        const py = parseWithPython(buildDsn(inp).bytes);
        expect(py.defects).toEqual([]);
        expect(py.contentType).toBe('multipart/report');
        expect(py.parts).toHaveLength(3);
        const groups = py.parts[1]!.groups!;
        expect(groups).toHaveLength(inp.recipients.length + 1);
        groups.slice(1).forEach((g, i) => {
          const r = inp.recipients[i]!;
          expect(field(g, 'Final-Recipient')).toMatch(new RegExp(`; ${escape(r.finalRecipient)}$`));
          expect(field(g, 'Action')).toBe(r.action);
          expect(field(g, 'Status')).toBe(r.status);
        });
      }),
      { numRuns: 25 },
    );
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
