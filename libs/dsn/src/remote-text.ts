// Untrusted text (a remote MTA's reply, a local diagnosis that may quote one)
// made safe to place in a header field or a text line.
//
// Contract: the result holds no control character at all, so no CR or LF can
// reach the DSN from a reply; lines (given as an array or separated by CR/LF)
// are joined by one space and every run of white space becomes one space, so
// folding can break between any two words; the ends are trimmed. Other C0
// controls, DEL and C1 controls become "?". Non-ASCII characters stay as they
// are when `utf8` (a message/global-delivery-status, RFC 6533 §3, may carry
// UTF-8); otherwise each becomes "\x{HHHH}", the EmbeddedUnicodeChar form of
// RFC 6533 §3 / RFC 5137 §5.1, so that a stray octet in a reply never turns a
// 7-bit DSN into one that needs 8BITMIME. A lone surrogate counts as U+FFFD.
//
// Does not: reject anything (a bounce must be made whatever the reply said),
// shorten the text, or interpret the reply code in it.

/** The cleaned text as words, in order; empty when nothing printable is left. */
export function remoteTextWords(text: string | readonly string[], utf8: boolean): string[] {
  const joined = typeof text === 'string' ? text : text.join(' ');
  const clean = joined
    .toWellFormed()
    .replace(WHITE, ' ')
    .replace(UNSAFE, (ch) => replacement(ch, utf8));
  return clean.split(' ').filter((w) => w.length > 0);
}

/** Line breaks, tabs and the Unicode line and paragraph separators: word breaks. */
const WHITE = /[\t\r\n\u2028\u2029]/g;
/** The other controls (C0, DEL, C1), and every non-ASCII character. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f]|[^\u0000-\u007f]/gu;

function replacement(ch: string, utf8: boolean): string {
  const c = ch.codePointAt(0)!;
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return '?';
  if (utf8) return ch;
  return `\\x{${c.toString(16).toUpperCase()}}`;
}
