import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from './limits.js';
import {
  decodeXtext,
  encodeXtext,
  formatMailParameters,
  parseMailParameters,
  parseRcptParameters,
  type ParameterContext,
} from './mail-parameters.js';
import type { MailParameters } from './types.js';

const CTX: ParameterContext = {
  extended: true,
  smtputf8: true,
  authOffered: true,
  limits: DEFAULT_LIMITS,
};

describe('xtext (RFC 3461 §4)', () => {
  it.each([
    ['user@example.com', 'user@example.com'],
    ['a+2Bb', 'a+b'],
    ['a+3Db', 'a=b'],
    ['+20', ' '],
    ['a+2bb', 'a+b'],
    ['<>', null],
    ['+3C+3E', null],
    ['<a>', '<a>'],
  ])('decodes %j', (text, decoded) => {
    expect(decodeXtext(text)).toBe(decoded);
  });

  it.each([
    'a b',
    'a=b',
    'a+',
    'a+4',
    'a+GG',
    'a+0D',
    'a+0A',
    'a+00',
    'a+7F',
    'a+C3+A9',
    'é',
    'a\u0001',
  ])('refuses %j', (text) => {
    expect(decodeXtext(text)).toBeUndefined();
  });

  it('encodes "+", "=", spaces and non-ASCII as +XX', () => {
    expect(encodeXtext('a+b=c d')).toBe('a+2Bb+3Dc+20d');
    expect(encodeXtext('é')).toBe('+C3+A9');
    expect(encodeXtext('user@example.com')).toBe('user@example.com');
  });

  it('round-trips printable ASCII', () => {
    const printable = fc
      .array(fc.integer({ min: 0x20, max: 0x7e }), { minLength: 1, maxLength: 40 })
      .map((a) => String.fromCharCode(...a))
      .filter((s) => s !== '<>');
    fc.assert(
      fc.property(printable, (s) => {
        expect(decodeXtext(encodeXtext(s))).toBe(s);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('formatMailParameters', () => {
  it.each([
    [{}, ''],
    [{ size: 5120 }, ' SIZE=5120'],
    [{ body: '8BITMIME', smtputf8: true }, ' BODY=8BITMIME SMTPUTF8'],
    [{ auth: null }, ' AUTH=<>'],
    [
      { size: 1, body: '7BIT', smtputf8: true, auth: 'a+b@x.org' },
      ' SIZE=1 BODY=7BIT SMTPUTF8 AUTH=a+2Bb@x.org',
    ],
  ] as [MailParameters, string][])('%j', (params, text) => {
    expect(formatMailParameters(params)).toBe(text);
    expect(parseMailParameters(text, 0, text.length, CTX)).toEqual({
      ok: true,
      parameters: params,
    });
  });
});

describe('parseMailParameters and parseRcptParameters', () => {
  it('reads only s[start, end)', () => {
    const s = 'xxSIZE=12 BODY=7BITyy';
    expect(parseMailParameters(s, 2, s.length - 2, CTX)).toEqual({
      ok: true,
      parameters: { size: 12, body: '7BIT' },
    });
  });

  it('accepts nothing or spaces as no parameters, in any context', () => {
    const helo = { ...CTX, extended: false };
    expect(parseMailParameters('   ', 0, 3, helo)).toEqual({ ok: true, parameters: {} });
    expect(parseRcptParameters('   ', 0, 3)).toEqual({ ok: true, parameters: {} });
  });

  it('answers a RCPT parameter with 555 5.5.4', () => {
    expect(parseRcptParameters(' NOTIFY=NEVER', 0, 13)).toMatchObject({
      ok: false,
      reply: { code: 555, enhanced: '5.5.4', name: 'unknownParameter' },
    });
  });

  it('compares SIZE with the limit it is given', () => {
    const small = { ...CTX, limits: { ...DEFAULT_LIMITS, messageSize: 1000 } };
    expect(parseMailParameters('SIZE=1000', 0, 9, small)).toMatchObject({ ok: true });
    expect(parseMailParameters('SIZE=1001', 0, 9, small)).toMatchObject({
      ok: false,
      reply: { code: 552, enhanced: '5.3.4', name: 'messageTooBig' },
    });
  });
});
