// Incremental framing of command lines (and AUTH continuation lines): bytes in,
// one line at a time out, pulled by the caller so that nothing is consumed
// ahead of it. After a line the caller may change state (DATA's 354, STARTTLS)
// and take the unread bytes with takeBuffered().
//
// Contract:
// - A line ends at LF; a CR immediately before that LF is removed with it. So
//   both CRLF and a bare LF end a command line (Postfix does the same for
//   commands; DATA is strict, see data-reader.ts). A CR anywhere else stays in
//   the line, for the command parser to refuse (RFC 5321 §2.3.8).
// - maxLength counts the terminator as CRLF: a line whose content is longer
//   than maxLength - 2 octets is reported once as `too-long`, and its octets up
//   to and including its LF are discarded (RFC 5321 §4.5.3.1.4, §4.5.3.1.10).
//   The notice comes as soon as maxLength octets without an LF are buffered, so
//   a client that never sends an LF is answered and memory stays bounded.
// - Returned lines may share memory with the pushed chunks; do not mutate them.
//
// Does not: decode, parse or judge the line; limit what push() accepts (while
// the session is paused the host applies backpressure using `buffered`).

export type LineEvent =
  { readonly kind: 'line'; readonly line: Buffer } | { readonly kind: 'too-long' };

const CR = 0x0d;
const LF = 0x0a;
const TOO_LONG: LineEvent = Object.freeze({ kind: 'too-long' });
const EMPTY = Buffer.alloc(0);

export class LineReader {
  #maxLength = 0;
  /** Unread chunks; the first is read from `#head`. */
  #chunks: Buffer[] = [];
  #head = 0;
  #buffered = 0;
  /** A too-long line has been reported; its octets are dropped up to its LF. */
  #discarding = false;

  /** @param maxLength longest line accepted, counting CRLF (512 for commands). */
  constructor(maxLength: number) {
    this.maxLength = maxLength;
  }

  /** Longest line accepted, counting CRLF. May change between lines. */
  get maxLength(): number {
    return this.#maxLength;
  }

  set maxLength(value: number) {
    if (!Number.isInteger(value) || value < 2)
      throw new RangeError(`maxLength must be an integer >= 2, got ${value}`);
    this.#maxLength = value;
  }

  /** Octets pushed and not yet returned, reported or discarded. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Appends received octets. Never reads ahead: lines come out through next(). */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * The next complete line without its terminator, a too-long notice, or null
   * when more octets are needed.
   */
  next(): LineEvent | null {
    if (this.#discarding) {
      const lf = this.#indexOfLf();
      if (lf < 0) {
        this.#drop(this.#buffered);
        return null;
      }
      this.#drop(lf + 1);
      this.#discarding = false;
    }
    const lf = this.#indexOfLf();
    if (lf < 0) {
      // maxLength octets and still no LF: the content is at least maxLength - 1.
      if (this.#buffered < this.#maxLength) return null;
      this.#drop(this.#buffered);
      this.#discarding = true;
      return TOO_LONG;
    }
    const end = lf > 0 && this.#byteAt(lf - 1) === CR ? lf - 1 : lf;
    if (end > this.#maxLength - 2) {
      this.#drop(lf + 1);
      return TOO_LONG;
    }
    const line = this.#take(end);
    this.#drop(lf + 1 - end);
    return { kind: 'line', line };
  }

  /**
   * Removes and returns every octet not yet returned as a line: the start of
   * the message after 354, or plaintext to discard after STARTTLS. Ends the
   * discarding of a too-long line.
   */
  takeBuffered(): Buffer {
    const out = this.#take(this.#buffered);
    this.#discarding = false;
    return out;
  }

  /** Offset of the first LF among the buffered octets, or -1. */
  #indexOfLf(): number {
    let base = 0;
    let from = this.#head;
    for (const chunk of this.#chunks) {
      const at = chunk.indexOf(LF, from);
      if (at >= 0) return base + at - from;
      base += chunk.length - from;
      from = 0;
    }
    return -1;
  }

  #byteAt(offset: number): number | undefined {
    let at = offset + this.#head;
    for (const chunk of this.#chunks) {
      if (at < chunk.length) return chunk[at];
      at -= chunk.length;
    }
    return undefined;
  }

  /** Removes and returns the first `count` buffered octets (a view when they lie in one chunk). */
  #take(count: number): Buffer {
    if (count === 0) return EMPTY;
    const first = this.#chunks[0];
    if (first !== undefined && first.length - this.#head >= count) {
      const out = first.subarray(this.#head, this.#head + count);
      this.#drop(count);
      return out;
    }
    const out = Buffer.allocUnsafe(count);
    let written = 0;
    let from = this.#head;
    for (const chunk of this.#chunks) {
      written += chunk.copy(out, written, from, Math.min(chunk.length, from + count - written));
      from = 0;
      if (written === count) break;
    }
    this.#drop(count);
    return out;
  }

  #drop(count: number): void {
    this.#buffered -= count;
    let left = count + this.#head;
    let i = 0;
    while (i < this.#chunks.length) {
      const chunk = this.#chunks[i] as Buffer;
      if (left < chunk.length) break;
      left -= chunk.length;
      i++;
    }
    if (i > 0) this.#chunks.splice(0, i);
    this.#head = left;
  }
}
