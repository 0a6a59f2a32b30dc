// Formats a Reply as the text that goes on the wire: the one place a reply
// becomes octets, so the invariants below hold for every reply Petrel sends.
//
// Invariants:
// - Every line is "ddd-" (continuation) or "ddd " / "ddd" (last), RFC 5321 §4.2.1,
//   and ends with CRLF.
// - The enhanced status code, when defined, follows the code on every line
//   (RFC 2034 §4), so "250-2.0.0 a" / "250 2.0.0 b".
// - No line, CRLF included, is longer than maxLine octets (RFC 5321 §4.5.3.1.5:
//   512). A longer text is wrapped after a space (the space stays at the end of
//   the earlier line, so joining the wrapped lines gives the text back), or
//   split hard where a word does not fit, never inside a UTF-8 sequence.
// - A CR or LF inside a text never reaches the wire: CRLF, CR and LF inside a
//   text each start a new reply line.
//
// Does not: decide which reply a situation gets, or check that the text is
// printable ASCII (RFC 5321 §4.2 textstring); a text is sent as UTF-8.

import type { Reply } from './replies.js';

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}$/;
const LINE_BREAK = /\r\n|\r|\n/;
/** Longest UTF-8 sequence: a hard split must leave room for one. */
const MAX_CHAR_OCTETS = 4;

/** The wire text of `reply`, CRLF line ends included. Throws RangeError on a malformed code. */
export function formatReply(reply: Reply, maxLine = 512): string {
  const { code, enhanced } = reply;
  if (!Number.isInteger(code) || code < 200 || code > 599) {
    throw new RangeError(`formatReply: not a reply code: ${code}`);
  }
  if (
    enhanced !== undefined &&
    (!ENHANCED.test(enhanced) || enhanced.charCodeAt(0) - 48 !== Math.floor(code / 100))
  ) {
    throw new RangeError(
      `formatReply: enhanced status code ${JSON.stringify(enhanced)} does not fit ${code}`,
    );
  }
  // "ddd-" or "ddd " plus "x.y.z " plus CRLF.
  const overhead = 4 + (enhanced === undefined ? 0 : enhanced.length + 1) + 2;
  const room = maxLine - overhead;
  if (room < MAX_CHAR_OCTETS) {
    throw new RangeError(`formatReply: maxLine ${maxLine} leaves no room for text`);
  }

  const texts = wireTexts(reply.lines, room);
  const codeText = String(code);
  const more = enhanced === undefined ? `${codeText}-` : `${codeText}-${enhanced}`;
  const last = enhanced === undefined ? codeText : `${codeText} ${enhanced}`;
  let out = '';
  const end = texts.length - 1;
  for (let i = 0; i < end; i++) out += line(more, enhanced !== undefined, texts[i] as string);
  // RFC 4954 §4: continue-req = "334" SP [base64] CRLF: the space stays even for an empty challenge.
  if (code === 334 && texts[end] === '') return `${out}334 \r\n`;
  return out + line(last, true, texts[end] as string);
}

/** "250-2.0.0" + " text", "250 2.0.0" alone for an empty text, "250" + " text", "250-" + "text". */
function line(prefix: string, spaceBeforeText: boolean, text: string): string {
  if (text === '') return `${prefix}\r\n`;
  return spaceBeforeText ? `${prefix} ${text}\r\n` : `${prefix}${text}\r\n`;
}

/** The texts of the wire lines: split at CR/LF, wrapped to `room` octets; at least one. */
function wireTexts(lines: readonly string[], room: number): string[] {
  if (lines.length === 0) return [''];
  const out: string[] = [];
  for (const text of lines) {
    // Fast path: ASCII-sized text that surely fits and holds no line break.
    if (text.length * 3 <= room || Buffer.byteLength(text, 'utf8') <= room) {
      if (!text.includes('\r') && !text.includes('\n')) {
        out.push(text);
        continue;
      }
    }
    for (const part of text.split(LINE_BREAK)) wrap(part, room, out);
  }
  return out;
}

/** Appends `text` to `out` as pieces of at most `room` UTF-8 octets. */
function wrap(text: string, room: number, out: string[]): void {
  if (Buffer.byteLength(text, 'utf8') <= room) {
    out.push(text);
    return;
  }
  const bytes = Buffer.from(text, 'utf8');
  let start = 0;
  while (bytes.length - start > room) {
    const limit = start + room;
    // Break after the last space that still fits (a space at `start` would make no progress worth a line).
    let cut = bytes.lastIndexOf(0x20, limit - 1) + 1;
    if (cut <= start + 1) {
      cut = limit;
      // Never split a UTF-8 sequence: back off over continuation octets 10xxxxxx.
      while (((bytes[cut] as number) & 0xc0) === 0x80) cut--;
    }
    out.push(bytes.toString('utf8', start, cut));
    start = cut;
  }
  out.push(bytes.toString('utf8', start));
}
