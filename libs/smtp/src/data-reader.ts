// The DATA reader: finds the end of the message, removes dot-stuffing and
// checks the message as its bytes arrive, in chunks split anywhere.
//
// Invariants (RFC 5321 §4.1.1.4, §4.5.2, §2.3.8, §4.5.3.1.6; SAFETY.md
// "SMTP smuggling"):
// - Only the raw octets CR LF "." CR LF end the data, found on the raw bytes
//   before anything else is done with them. The stream counts as preceded by
//   the CRLF of the DATA command, so ".\r\n" as the first line ends an empty
//   message. \n.\n, \n.\r\n, \r.\r\n, \r\n\0.\r\n, \r\n.\r\r\n and the like do
//   not end it.
// - Lines are the octets up to and including each LF. A line that begins with
//   "." and is not the terminator loses that first ".".
// - A CR not followed by LF or an LF not preceded by CR anywhere in the data is
//   the violation `bare-line-ending`; Petrel refuses such a message instead of
//   guessing (the KumoMTA choice, not Postfix's normalising one). A raw line
//   longer than `textLine` octets with its line ending is `line-too-long`; an
//   unstuffed message longer than `messageSize` octets is `too-big`. The first
//   violation in stream order wins, each placed at the octet that reveals it
//   (for a bare CR the octet after it); on a tie bare-line-ending, then
//   line-too-long, then too-big. After a violation no body is kept, so memory
//   stays bounded, but reading goes on to the real end of the data.
// - The body is handed out as slices of the pushed chunks, not copies; do not
//   mutate a chunk after pushing it.
//
// Does not: decide the reply (the session maps a violation to one), judge NUL
// or 8-bit octets (BODY=7BIT is not enforced), parse headers, or know about
// BDAT (CHUNKING is not offered).

export type DataViolation = 'bare-line-ending' | 'line-too-long' | 'too-big';

export interface DataEnd {
  /**
   * The unstuffed message as slices whose concatenation is the message,
   * including the CRLF before the terminating ".CRLF". Empty for an empty
   * message, and whenever `violation` is not null.
   */
  readonly body: Buffer[];
  /** Octets of the unstuffed message, counted past the size limit too. */
  readonly size: number;
  /** The first violation seen, or null for a message that may be accepted. */
  readonly violation: DataViolation | null;
  /** Octets received after the terminating CRLF.CRLF (pipelined commands). */
  readonly rest: Buffer;
}

export interface DataLimits {
  /** Longest raw text line, counting CRLF (RFC 5321 §4.5.3.1.6: 1000). */
  readonly textLine: number;
  /** Largest message in octets after dot-unstuffing. */
  readonly messageSize: number;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const EMPTY = Buffer.alloc(0);
/** Octets scanned at a time (a socket read is at most this in Node). */
const WINDOW = 64 * 1024;

export class DataReader {
  readonly #textLine: number;
  readonly #messageSize: number;
  #body: Buffer[] = [];
  #size = 0;
  #violation: DataViolation | null = null;
  #ended = false;
  /** Raw octets of the current line already read; 0 at a line start. */
  #lineLength = 0;
  /** The line before the current one ended in CRLF (at first: the DATA command's). */
  #afterCrlf = true;
  /**
   * At most two octets whose meaning depends on the next one: a trailing CR, or
   * a line so far "." or ".\r" that may be the terminator. Read again in front
   * of the next chunk.
   */
  #carry: Buffer | null = null;

  constructor(limits: DataLimits) {
    if (!Number.isInteger(limits.textLine) || limits.textLine < 3) {
      throw new RangeError(`textLine must be an integer >= 3, got ${limits.textLine}`);
    }
    if (!(limits.messageSize >= 0)) {
      throw new RangeError(`messageSize must be >= 0, got ${limits.messageSize}`);
    }
    this.#textLine = limits.textLine;
    this.#messageSize = limits.messageSize;
  }

  /** Reads the next octets; returns the end of data once seen, else null. Not to be called after the end. */
  push(chunk: Buffer): DataEnd | null {
    if (this.#ended) throw new Error('DataReader: push after the end of data');
    // A large chunk is read in windows, which keeps the scan's latin1 copy small.
    for (let at = 0; ; at += WINDOW) {
      const next = at + WINDOW;
      const end = this.#readWindow(chunk.subarray(at, next));
      if (end !== null) {
        return next < chunk.length
          ? { ...end, rest: Buffer.concat([end.rest, chunk.subarray(next)]) }
          : end;
      }
      if (next >= chunk.length) return null;
    }
  }

  #readWindow(window: Buffer): DataEnd | null {
    let rest = window;
    // Octets carried over are read again with the next few octets, copied: a
    // handful of bytes, so the chunk itself is still read in place.
    while (this.#carry !== null) {
      if (rest.length === 0) return null;
      const take = Math.min(rest.length, 4);
      const joined = Buffer.concat([this.#carry, rest.subarray(0, take)]);
      this.#carry = null;
      rest = rest.subarray(take);
      const end = this.#read(joined);
      if (end !== null) {
        return { ...end, rest: end.rest.length === 0 ? rest : Buffer.concat([end.rest, rest]) };
      }
    }
    return this.#read(rest);
  }

  #read(buf: Buffer): DataEnd | null {
    const n = buf.length;
    let pos = 0;
    let kept = 0; // buf[kept, pos) is body not yet kept as a slice
    let cr = -1; // the first CR at or after pos once pos passes the last one found; n when none
    // CR and LF are searched in a latin1 copy of the chunk: one char per octet,
    // so offsets agree, and String#indexOf costs about half what Buffer#indexOf
    // does per call, which is what counts with a call or two per 78-octet line.
    const text = buf.toString('latin1');

    while (pos < n) {
      if (this.#lineLength === 0 && buf[pos] === DOT) {
        if (this.#afterCrlf) {
          const next = buf[pos + 1];
          if (next === undefined || (next === CR && pos + 2 === n)) {
            this.#keep(buf, kept, pos);
            this.#carry = buf.subarray(pos);
            return null;
          }
          if (next === CR && buf[pos + 2] === LF) {
            this.#keep(buf, kept, pos);
            return this.#end(buf.subarray(pos + 3));
          }
        }
        // Dot-stuffing: the line keeps its length, the message loses the dot.
        this.#keep(buf, kept, pos);
        pos++;
        kept = pos;
        this.#lineLength = 1;
      }

      if (cr < pos) {
        cr = text.indexOf('\r', pos);
        if (cr < 0) cr = n;
      }
      const lf = text.indexOf('\n', pos);

      if (lf < 0) {
        // The line goes on in the next chunk; a trailing CR waits for its LF.
        const end = buf[n - 1] === CR ? n - 1 : n;
        if (this.#violation === null) {
          this.#check(pos, end, cr < end ? cr + 1 : -1);
        }
        this.#lineLength += end - pos;
        this.#size += end - pos;
        this.#keep(buf, kept, end);
        if (end < n) this.#carry = buf.subarray(end);
        return null;
      }

      const crlf = lf > pos && buf[lf - 1] === CR;
      if (this.#violation === null) {
        const bareCr = cr < lf - 1 ? cr + 1 : -1;
        this.#check(pos, lf + 1, bareCr >= 0 ? bareCr : crlf ? -1 : lf);
      }
      this.#size += lf + 1 - pos;
      this.#lineLength = 0;
      this.#afterCrlf = crlf;
      pos = lf + 1;
    }
    this.#keep(buf, kept, n);
    return null;
  }

  /**
   * Checks buf[from, to), the rest of the current line or its part in this
   * chunk, whose first bare line ending (if any) is revealed at `bare` (else -1).
   * Sets the first violation; the common case is three comparisons.
   */
  #check(from: number, to: number, bare: number): void {
    const length = this.#lineLength + to - from;
    const size = this.#size + to - from;
    if (bare < 0 && length <= this.#textLine && size <= this.#messageSize) return;
    let at = bare < 0 ? Infinity : bare;
    let violation: DataViolation = 'bare-line-ending';
    if (length > this.#textLine) {
      const tooLong = from + this.#textLine - this.#lineLength;
      if (tooLong < at) {
        at = tooLong;
        violation = 'line-too-long';
      }
    }
    if (size > this.#messageSize) {
      const tooBig = from + this.#messageSize - this.#size;
      if (tooBig < at) violation = 'too-big';
    }
    this.#violation = violation;
    this.#body = [];
  }

  #keep(buf: Buffer, from: number, to: number): void {
    if (to > from && this.#violation === null) this.#body.push(buf.subarray(from, to));
  }

  #end(rest: Buffer): DataEnd {
    this.#ended = true;
    return {
      body: this.#violation === null ? this.#body : [],
      size: this.#size,
      violation: this.#violation,
      rest: rest.length === 0 ? EMPTY : rest,
    };
  }
}
