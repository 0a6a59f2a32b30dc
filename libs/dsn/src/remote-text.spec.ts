import { describe, expect, it } from 'vitest';
import { remoteTextWords } from './remote-text.js';

const clean = (text: string | string[], utf8 = false): string =>
  remoteTextWords(text, utf8).join(' ');

describe('remoteTextWords', () => {
  it('joins the lines of a reply with one space', () => {
    expect(clean(['550-5.1.1 first', '550 5.1.1 second'])).toBe('550-5.1.1 first 550 5.1.1 second');
  });

  it('treats CR, LF, CRLF, TAB and the Unicode separators as word breaks and squeezes runs', () => {
    expect(clean('  a\r\nb\rc\nd\te\u2028f\u2029g    h  ')).toBe('a b c d e f g h');
  });

  it('turns other controls into "?": NUL, ESC, DEL, NEL and the other C1s', () => {
    expect(clean('a\u0000b\u001bc\u007fd\u0085e\u009ff')).toBe('a?b?c?d?e?f');
  });

  it('escapes non-ASCII as \\x{HHHH} for a 7-bit DSN, and keeps it for a UTF-8 one', () => {
    expect(clean('Grüße \u{1F4EC} ok')).toBe('Gr\\x{FC}\\x{DF}e \\x{1F4EC} ok');
    expect(clean('Grüße \u{1F4EC} ok', true)).toBe('Grüße \u{1F4EC} ok');
  });

  it('reads a lone surrogate as U+FFFD', () => {
    expect(clean('a\uD800b')).toBe('a\\x{FFFD}b');
    expect(clean('a\uDC00b', true)).toBe('a\uFFFDb');
  });

  it('returns no words for text with nothing printable in it', () => {
    expect(remoteTextWords(['', ' \r\n\t'], false)).toEqual([]);
  });
});
