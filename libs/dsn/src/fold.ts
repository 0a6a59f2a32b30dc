// Line breaking for everything the DSN generates: header fields folded per
// RFC 5322 §2.2.3 and §3.2.2 (the CRLF goes before a space, so unfolding
// gives back the value), and the human text wrapped with an indent.
//
// Contract: lines break only between words, at the first word that would take
// the line past `soft` octets (78 for fields, RFC 5322 §2.1.1 SHOULD). A word
// longer than the room left under `hard` (998, RFC 5322 §2.1.1 MUST) is cut
// at a character boundary and goes on over the next lines: that inserts a
// break into the word (unfolded, a space), the price of never emitting an
// over-long line. Lengths count UTF-8 octets, not characters.
//
// Does not: encode anything (RFC 2047), fold inside a word short enough for
// a line, or produce a line of white space only. Words must hold no CR or LF;
// a word may hold a space (a quoted local part) and is then kept whole, but
// callers split free text on white space first so that it can fold.

export const SOFT_LIMIT = 78;
/** RFC 5322 §2.1.1 / RFC 5321 §4.5.3.1.6: 998 octets before the CRLF. */
export const HARD_LIMIT = 998;

export interface WrapOptions {
  /** What the first line starts with ("Diagnostic-Code: " or ""). */
  readonly first: string;
  /** What every later line starts with (" " for a field, "    " for text). */
  readonly next: string;
  /** Break before a word that would take the line past this many octets. */
  readonly soft: number;
  /** No line is ever longer than this many octets. */
  readonly hard: number;
}

/** The lines, without line ends. At least one line, even for no words. */
export function wrapWords(words: readonly string[], options: WrapOptions): string[] {
  const { first, next, soft, hard } = options;
  if (octets(first) + 4 > hard || octets(next) + 4 > hard) {
    throw new RangeError('wrapWords: a line prefix leaves no room under the hard limit');
  }
  const lines: string[] = [];
  let line = first;
  let size = octets(first);
  let hasWord = false;

  const flush = (): void => {
    lines.push(line);
    line = next;
    size = octets(next);
    hasWord = false;
  };

  for (const w of words) {
    if (w.length === 0) continue;
    let word = w;
    let wordSize = octets(word);
    if (hasWord && size + 1 + wordSize > soft) flush();
    while (size + (hasWord ? 1 : 0) + wordSize > hard) {
      const room = hard - size - (hasWord ? 1 : 0);
      const cut = cutAt(word, room);
      if (cut === 0) {
        flush();
        continue;
      }
      const head = word.slice(0, cut);
      line += (hasWord ? ' ' : '') + head;
      flush();
      word = word.slice(cut);
      wordSize = octets(word);
    }
    line += (hasWord ? ' ' : '') + word;
    size += (hasWord ? 1 : 0) + wordSize;
    hasWord = true;
  }
  lines.push(line);
  return lines;
}

/** A header field "Name: w1 w2 ..." folded at 78 octets, never over 998; lines joined by CRLF, no final CRLF. */
export function foldField(name: string, words: readonly string[]): string {
  return wrapWords(words, {
    first: `${name}: `,
    next: ' ',
    soft: SOFT_LIMIT,
    hard: HARD_LIMIT,
  }).join('\r\n');
}

export function octets(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** How many UTF-16 code units of `s` fit in `room` UTF-8 octets without splitting a character. */
function cutAt(s: string, room: number): number {
  let used = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.codePointAt(i)!;
    const width = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (used + width > room) break;
    used += width;
    i += c >= 0x10000 ? 2 : 1;
  }
  return i;
}
