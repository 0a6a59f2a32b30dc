// The client side of DATA: turns a message body into the bytes sent after 354,
// incrementally, with the terminating ".CRLF".
//
// Contract (RFC 5321 §4.5.2, §2.3.8, §4.1.1.4; SAFETY.md "SMTP smuggling"):
// - Every line ending leaves as CRLF: CRLF stays, a bare LF or a bare CR
//   becomes CRLF. A CR at the end of a chunk is held until the next octet shows
//   which it is. So the wire never carries a stray CR or LF, and Petrel cannot
//   be the forwarding half of a smuggling attack.
// - A line that begins with "." gets one more "." in front.
// - end() adds CRLF when the body does not end with a line ending (an empty
//   body stays empty), then ".CRLF".
// - Output is slices of the input plus shared constant buffers, not copies; do
//   not mutate a chunk until its output has been written.
//
// Does not: check line lengths (1000 octets, §4.5.3.1.6) or 8-bit content;
// the message was judged when it was received.

const LF = 0x0a;
const DOT = 0x2e;
const CRLF_BYTES = Buffer.from('\r\n', 'latin1');
const DOT_BYTE = Buffer.from('.', 'latin1');
const TERMINATOR = Buffer.from('.\r\n', 'latin1');
/** Octets scanned at a time. */
const WINDOW = 64 * 1024;

export class DotStuffer {
  /** The output so far is empty or ends with CRLF. */
  #atLineStart = true;
  /** The last input octet was a CR whose line ending is not yet written. */
  #pendingCr = false;
  #ended = false;

  /** Encodes the next part of the body; returns the octets ready to send. */
  push(chunk: Buffer): Buffer[] {
    if (this.#ended) throw new Error('DotStuffer: push after end');
    // A large chunk is encoded in windows, which keeps the scan's latin1 copy small.
    if (chunk.length <= WINDOW) return this.#encode(chunk);
    const out: Buffer[] = [];
    for (let at = 0; at < chunk.length; at += WINDOW) {
      for (const piece of this.#encode(chunk.subarray(at, at + WINDOW))) out.push(piece);
    }
    return out;
  }

  #encode(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const n = chunk.length;
    let pos = 0;
    let kept = 0; // chunk[kept, pos) is output not yet emitted
    if (this.#pendingCr && n > 0) {
      // The held CR becomes CRLF whether or not an LF follows it.
      out.push(CRLF_BYTES);
      this.#pendingCr = false;
      this.#atLineStart = true;
      if (chunk[0] === LF) pos = kept = 1;
    }
    // CR and LF are searched in a latin1 copy (one char per octet, same
    // offsets): String#indexOf is cheaper per call than Buffer#indexOf.
    const text = chunk.toString('latin1');
    let cr = -1; // the first CR at or after pos once pos passes the last one found; n when none
    let lf = -1; // the same for LF
    while (pos < n) {
      if (this.#atLineStart) {
        if (chunk[pos] === DOT) {
          if (pos > kept) out.push(chunk.subarray(kept, pos));
          out.push(DOT_BYTE);
          kept = pos;
        }
        this.#atLineStart = false;
      }
      if (cr < pos) {
        cr = text.indexOf('\r', pos);
        if (cr < 0) cr = n;
      }
      if (lf < pos) {
        lf = text.indexOf('\n', pos);
        if (lf < 0) lf = n;
      }
      if (lf < cr) {
        // A bare LF.
        if (lf > kept) out.push(chunk.subarray(kept, lf));
        out.push(CRLF_BYTES);
        pos = kept = lf + 1;
        this.#atLineStart = true;
      } else if (cr < n) {
        if (cr + 1 === n) {
          // Which line ending this CR starts is known with the next octet.
          if (cr > kept) out.push(chunk.subarray(kept, cr));
          pos = kept = n;
          this.#pendingCr = true;
        } else if (lf === cr + 1) {
          pos = lf + 1;
          this.#atLineStart = true;
        } else {
          // A bare CR.
          if (cr > kept) out.push(chunk.subarray(kept, cr));
          out.push(CRLF_BYTES);
          pos = kept = cr + 1;
          this.#atLineStart = true;
        }
      } else {
        pos = n;
      }
    }
    if (n > kept) out.push(chunk.subarray(kept, n));
    return out;
  }

  /** Ends the body: its last line ending if missing, then ".CRLF". */
  end(): Buffer[] {
    if (this.#ended) throw new Error('DotStuffer: end called twice');
    this.#ended = true;
    const out: Buffer[] = [];
    if (this.#pendingCr || !this.#atLineStart) out.push(CRLF_BYTES);
    out.push(TERMINATOR);
    return out;
  }
}

/** A whole body as the octets to send after 354, ".CRLF" included. */
export function dotStuff(body: Buffer | readonly Buffer[]): Buffer[] {
  const stuffer = new DotStuffer();
  const out: Buffer[] = [];
  for (const chunk of Buffer.isBuffer(body) ? [body] : body) {
    for (const piece of stuffer.push(chunk)) out.push(piece);
  }
  for (const piece of stuffer.end()) out.push(piece);
  return out;
}
