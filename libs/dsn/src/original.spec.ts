import { describe, expect, it } from 'vitest';
import { DsnError } from './dsn-error.js';
import { checkOriginal, headerSection, returnedPart } from './original.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const text = (u: Uint8Array): string => Buffer.from(u).toString('utf8');

describe('checkOriginal', () => {
  it('accepts CRLF-only bytes, an empty original, and 8-bit and NUL octets', () => {
    for (const s of ['', 'a\r\n', 'a\r\n\r\nb', 'Grüße\r\n', 'a\u0000b\r\n']) {
      expect(() => checkOriginal(b(s))).not.toThrow();
    }
  });

  it.each(['a\nb', 'a\rb', 'a\r', '\n', 'a\r\r\n', 'a\n\r', '\r\n\n.\r\n'])(
    'throws bare-line-end for %j',
    (s) => {
      expect(() => checkOriginal(b(s))).toThrow(DsnError);
      try {
        checkOriginal(b(s));
      } catch (e) {
        expect((e as DsnError).code).toBe('bare-line-end');
      }
    },
  );
});

describe('headerSection', () => {
  it('runs up to and including the first empty line', () => {
    expect(text(headerSection(b('A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore\r\n')))).toBe(
      'A: 1\r\nB: 2\r\n\r\n',
    );
  });

  it('is the whole message when there is no empty line', () => {
    expect(text(headerSection(b('A: 1\r\nB: 2\r\n')))).toBe('A: 1\r\nB: 2\r\n');
    expect(text(headerSection(b('A: 1')))).toBe('A: 1');
    expect(text(headerSection(b('')))).toBe('');
  });

  it('is the empty line alone when the message starts with one', () => {
    expect(text(headerSection(b('\r\nbody\r\n')))).toBe('\r\n');
  });
});

describe('returnedPart', () => {
  it.each<[string, 'headers' | 'full', string, boolean]>([
    ['A: 1\r\n\r\nbody\r\n', 'headers', 'text/rfc822-headers', false],
    ['A: 1\r\n\r\nbody\r\n', 'full', 'message/rfc822', false],
    ['A: 1\r\n\r\nGrüße\r\n', 'headers', 'text/rfc822-headers', false],
    ['A: 1\r\n\r\nGrüße\r\n', 'full', 'message/rfc822', true],
    ['A: Grüße\r\n\r\nbody\r\n', 'headers', 'message/global-headers', true],
    ['A: Grüße\r\n\r\nbody\r\n', 'full', 'message/global', true],
  ])('labels %j returned as %s: %s, eightBit %s', (original, content, type, eightBit) => {
    const part = returnedPart(b(original), content);
    expect(part.contentType).toBe(type);
    expect(part.eightBit).toBe(eightBit);
  });
});
