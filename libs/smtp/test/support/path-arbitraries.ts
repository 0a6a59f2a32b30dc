// fast-check generators of valid reverse-paths and forward-paths, built as the
// Path a parse must produce: shared by the path and command parser property
// tests. Expected values come from the grammar and from independent oracles
// (WHATWG URL for canonical IPv6 text), not from the parser under test.

import fc from 'fast-check';
import type { AddressLiteral, Mailbox, Path } from '../../src/types.js';
import { formatPath } from '../../src/path-parser.js';

const ATEXT_ASCII =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~";
/** Non-ASCII characters of 2, 3 and 4 UTF-8 octets (no C1 controls). */
const NON_ASCII = ['é', 'ß', 'ü', 'Ω', 'ж', '中', '文', 'ア', '한', '😀', '𝄞', '\u00a0', '\ufeff'];
const LOWER_DIGIT = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** RFC 5321 Dot-string with RFC 6531 UTF-8, as an independent regular expression. */
const DOT_STRING =
  /^(?:[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]|[^\p{ASCII}])+(?:\.(?:[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]|[^\p{ASCII}])+)*$/u;

export function isDotString(s: string): boolean {
  return DOT_STRING.test(s);
}

function chars(alphabet: readonly string[], min: number, max: number): fc.Arbitrary<string> {
  return fc
    .array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max })
    .map((a) => a.join(''));
}

export function localPartArb(utf8: boolean): fc.Arbitrary<string> {
  const atextChars = [...ATEXT_ASCII, ...(utf8 ? NON_ASCII : [])];
  const atom = chars(atextChars, 1, 8);
  const dotString = fc.array(atom, { minLength: 1, maxLength: 3 }).map((a) => a.join('.'));
  // Quoted-string content: any printable ASCII (", \ escaped on the wire) and UTF-8.
  const printable: string[] = [];
  for (let c = 0x20; c <= 0x7e; c++) printable.push(String.fromCharCode(c));
  const quoted = chars([...printable, ...(utf8 ? NON_ASCII : [])], 0, 12);
  return fc.oneof(dotString, quoted);
}

/** A label: Let-dig [Ldh-str], lower case; a U-label when utf8. */
function labelArb(utf8: boolean): fc.Arbitrary<string> {
  const inner = [...LOWER_DIGIT, '-', ...(utf8 ? NON_ASCII.slice(0, 10) : [])];
  const ends = [...LOWER_DIGIT, ...(utf8 ? NON_ASCII.slice(0, 10) : [])];
  const long = fc
    .tuple(fc.constantFrom(...ends), chars(inner, 0, 10), fc.constantFrom(...ends))
    .map(([a, m, z]) => a + m + z);
  return fc.oneof(
    { weight: 8, arbitrary: long },
    { weight: 3, arbitrary: fc.constantFrom(...ends) },
    { weight: 1, arbitrary: fc.constant('x'.repeat(63)) },
  );
}

/** Domain = sub-domain *("." sub-domain); the last label never all digits. */
export function domainArb(utf8: boolean): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(labelArb(utf8), { minLength: 0, maxLength: 3 }), labelArb(utf8))
    .map(([labels, last]) => [...labels, /^[0-9]+$/.test(last) ? `${last}x` : last].join('.'));
}

function hex16(): fc.Arbitrary<number> {
  return fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
}

/** An address literal and the domain a parse must give it. */
export const addressLiteralArb: fc.Arbitrary<{ domain: string; literal: AddressLiteral }> =
  fc.oneof(
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }).map((b) => {
      const address = b.join('.');
      return { domain: `[${address}]`, literal: { family: 4 as const, address } };
    }),
    fc
      .oneof(
        fc.array(hex16(), { minLength: 8, maxLength: 8 }),
        fc
          .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
          .map(([a, b]) => [0, 0, 0, 0, 0, 0xffff, a, b]),
      )
      .map((g) => {
        const full = g.map((x) => x.toString(16)).join(':');
        const address = new URL(`http://[${full}]/`).hostname.slice(1, -1);
        return { domain: `[ipv6:${address}]`, literal: { family: 6 as const, address } };
      }),
  );

export interface PathArbOptions {
  kind: 'reverse' | 'forward';
  utf8: boolean;
}

/** A valid Path as parsePath must return it for its canonical form (formatPath). */
export function pathArb({ kind, utf8 }: PathArbOptions): fc.Arbitrary<Path> {
  const mailbox: fc.Arbitrary<Mailbox> = fc
    .tuple(
      localPartArb(utf8),
      fc.oneof(
        { weight: 4, arbitrary: domainArb(utf8).map((d) => ({ domain: d, literal: null })) },
        { weight: 1, arbitrary: addressLiteralArb },
      ),
    )
    .map(([localPart, d]) => ({
      localPart,
      quoted: !isDotString(localPart),
      domain: d.domain,
      addressLiteral: d.literal,
      utf8: /[^\p{ASCII}]/u.test(localPart + d.domain),
    }));
  const route = fc.oneof(
    { weight: 3, arbitrary: fc.constant([] as string[]) },
    { weight: 1, arbitrary: fc.array(domainArb(utf8), { minLength: 1, maxLength: 3 }) },
  );
  const ordinary = fc
    .tuple(route, mailbox)
    .map(([r, m]) => withRaw({ route: r, mailbox: m, raw: '' }));
  const special =
    kind === 'reverse'
      ? fc.constant<Path>({ route: [], mailbox: null, raw: '' })
      : fc.constantFrom('postmaster', 'Postmaster', 'POSTMASTER', 'pOsTmAsTeR').map((lp) =>
          withRaw({
            route: [],
            mailbox: {
              localPart: lp,
              quoted: false,
              domain: null,
              addressLiteral: null,
              utf8: false,
            },
            raw: '',
          }),
        );
  return fc.oneof({ weight: 12, arbitrary: ordinary }, { weight: 1, arbitrary: special });
}

function withRaw(p: Path): Path {
  return { ...p, raw: formatPath(p).slice(1, -1) };
}

/** Limits far above anything the generators make, so that only grammar is tested. */
export const ROOMY_LIMITS = {
  localPart: 10_000,
  domain: 10_000,
  path: 100_000,
  commandLine: 100_000,
  replyLine: 512,
  textLine: 1000,
  recipients: 100,
  errors: 20,
  messageSize: 26_214_400,
  authLine: 12_288,
} as const;
