// Incremental parser of a next hop's replies (the sender side of RFC 5321
// §4.2): bytes in as they arrive, whole (possibly multi-line) replies out, in
// order.
//
// Invariants:
// - A reply is "ddd-text" continuation lines and one "ddd text" or "ddd" last
//   line, the same code 200-599 on every line (RFC 5321 §4.2.1); anything else
//   is a protocol violation, reported once as an `error` event, after which the
//   parser is dead (the session is out of step and must be closed).
// - Memory is bounded: one reply, partial line included, may not exceed
//   `maxReplyOctets`.
// - The enhanced status code (RFC 2034 §4, RFC 3463 §2) is the first line's
//   "c.s.d" of the reply's class; it is taken off every line that starts with
//   the same one. A line with a different one keeps it in its text.
//
// Liberal in what it accepts (RFC 5321 §4.2.1 asks clients to be): bare LF
// ends a line as CRLF does; the 512-octet reply line limit (§4.5.3.1.5) is not
// enforced, only the whole-reply bound; bytes that are not UTF-8 become U+FFFD.
//
// Does not: judge whether a code suits the command it answers (the client
// dialog does), or check that the next hop offered ENHANCEDSTATUSCODES.

import { customReply, type Reply } from './replies.js';

export interface ParsedReply {
  readonly code: number;
  /** RFC 3463 enhanced status code of the first line, of the reply's class; undefined when none. */
  readonly enhanced: string | undefined;
  /** Text after the code (and after the enhanced code where a line carries the reply's), per line. */
  readonly lines: string[];
  /** Exactly the text received, for diagnostics, each line end (CRLF or LF) as "\n". */
  readonly raw: string;
}

export type ReplyEvent = { kind: 'reply'; reply: ParsedReply } | { kind: 'error'; message: string };

const ENHANCED = /^([245])\.\d{1,3}\.\d{1,3}(?: |$)/;
const LF = 0x0a;
const CR = 0x0d;

export class ReplyParser {
  private buf: Buffer = Buffer.alloc(0);
  /** Start of the bytes not yet parsed. */
  private pos = 0;
  /** Where to resume looking for LF: bytes before it (from pos) hold none. */
  private scan = 0;
  private dead = false;
  /** Lines of the reply being read. */
  private code = 0;
  private texts: string[] = [];
  private raw = '';
  private octets = 0;

  constructor(private readonly maxReplyOctets = 65_536) {}

  /** Octets received and not yet handed out as part of a reply. */
  get buffered(): number {
    return this.octets + this.buf.length - this.pos;
  }

  push(chunk: Buffer): void {
    if (this.dead || chunk.length === 0) return;
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
      this.scan = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.scan -= this.pos;
    }
    this.pos = 0;
  }

  /** The next complete reply or error, or null when more bytes are needed (or after an error). */
  next(): ReplyEvent | null {
    while (!this.dead) {
      const lf = this.buf.indexOf(LF, this.scan);
      if (lf < 0) {
        this.scan = this.buf.length;
        if (this.octets + this.buf.length - this.pos > this.maxReplyOctets)
          return this.fail('reply too long');
        return null;
      }
      const start = this.pos;
      this.octets += lf + 1 - start;
      this.pos = lf + 1;
      this.scan = this.pos;
      if (this.octets > this.maxReplyOctets) return this.fail('reply too long');
      const end = lf > start && this.buf[lf - 1] === CR ? lf - 1 : lf;
      const event = this.line(this.buf.toString('utf8', start, end));
      if (event !== null) return event;
    }
    return null;
  }

  /** One line; a reply event when it was the last line of its reply. */
  private line(text: string): ReplyEvent | null {
    this.raw += `${text}\n`;
    const sep = text.length === 3 ? ' ' : text[3];
    const code = /^[2-5]\d\d$/.test(text.slice(0, 3)) ? Number(text.slice(0, 3)) : 0;
    if (code === 0 || (sep !== ' ' && sep !== '-')) {
      return this.fail(`malformed reply line ${JSON.stringify(clip(text))}`);
    }
    if (this.texts.length > 0 && code !== this.code) {
      return this.fail(`reply code changed from ${this.code} to ${code} within one reply`);
    }
    this.code = code;
    this.texts.push(text.slice(4));
    if (sep === '-') return null;

    const reply = finish(code, this.texts, this.raw);
    this.texts = [];
    this.raw = '';
    this.octets = 0;
    return { kind: 'reply', reply };
  }

  private fail(message: string): ReplyEvent {
    this.dead = true;
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    this.scan = 0;
    this.texts = [];
    this.raw = '';
    this.octets = 0;
    return { kind: 'error', message };
  }
}

function finish(code: number, texts: string[], raw: string): ParsedReply {
  const first = ENHANCED.exec(texts[0] as string);
  if (first === null || Number(first[1]) !== Math.floor(code / 100)) {
    return { code, enhanced: undefined, lines: texts, raw };
  }
  const enhanced = first[0].trimEnd();
  const lines = texts.map((t) => {
    if (!t.startsWith(enhanced)) return t;
    const rest = t.slice(enhanced.length);
    if (rest === '') return '';
    return rest.startsWith(' ') ? rest.slice(1) : t;
  });
  return { code, enhanced, lines, raw };
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

/** A next hop's reply as a Reply (name `custom`). */
export function toReply(parsed: ParsedReply): Reply {
  return customReply(parsed.code, parsed.enhanced, parsed.lines);
}
