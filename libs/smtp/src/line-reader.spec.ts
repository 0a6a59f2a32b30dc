import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineReader } from './line-reader.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** What a reader reports, lines as strings and too-long notices as null. */
function drain(reader: LineReader): (string | null)[] {
  const out: (string | null)[] = [];
  for (let event = reader.next(); event !== null; event = reader.next()) {
    out.push(event.kind === 'line' ? event.line.toString('latin1') : null);
  }
  return out;
}

function readChunks(chunks: readonly Buffer[], maxLength: number): (string | null)[] {
  const reader = new LineReader(maxLength);
  const out: (string | null)[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    out.push(...drain(reader));
  }
  return out;
}

/**
 * The reference: split at every LF, drop one CR before it; a line whose
 * content is over maxLength - 2 is a notice; an unfinished line of maxLength
 * octets or more is a notice already.
 */
function reference(input: Buffer, maxLength: number): (string | null)[] {
  const parts = input.toString('latin1').split('\n');
  const unfinished = parts.pop() as string;
  const out: (string | null)[] = parts.map((part) => {
    const line = part.endsWith('\r') ? part.slice(0, -1) : part;
    return line.length > maxLength - 2 ? null : line;
  });
  if (unfinished.length >= maxLength) out.push(null);
  return out;
}

describe('LineReader', () => {
  it('returns lines without CRLF, one at a time, and null when it needs more', () => {
    const reader = new LineReader(512);
    reader.push(b('EHLO a\r\nMAIL FROM:<>\r\nRCPT'));
    expect(reader.next()).toEqual({ kind: 'line', line: b('EHLO a') });
    expect(reader.next()).toEqual({ kind: 'line', line: b('MAIL FROM:<>') });
    expect(reader.next()).toBeNull();
    expect(reader.buffered).toBe(4);
    reader.push(b(' TO:<a@b>\r\n'));
    expect(reader.next()).toEqual({ kind: 'line', line: b('RCPT TO:<a@b>') });
    expect(reader.next()).toBeNull();
    expect(reader.buffered).toBe(0);
  });

  it('ends a line at a bare LF too, and keeps a CR that is not before the LF', () => {
    expect(readChunks([b('NOOP\nQUIT\r\nA\rB\r\n\r\r\n')], 512)).toEqual([
      'NOOP',
      'QUIT',
      'A\rB',
      '\r',
    ]);
  });

  it('returns empty lines', () => {
    expect(readChunks([b('\r\n\n')], 512)).toEqual(['', '']);
  });

  it('joins a line split across chunks, CR and LF apart included', () => {
    expect(readChunks([b('HE'), b('LO x\r'), b('\nNO'), b('OP\r'), b('\n')], 512)).toEqual([
      'HELO x',
      'NOOP',
    ]);
  });

  it('consumes nothing ahead of the caller: the rest goes to whoever takes it', () => {
    const reader = new LineReader(512);
    reader.push(b('DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n'));
    expect(reader.next()).toEqual({ kind: 'line', line: b('DATA') });
    expect(reader.takeBuffered().toString()).toBe('Subject: x\r\n\r\nbody\r\n.\r\n');
    expect(reader.buffered).toBe(0);
    expect(reader.next()).toBeNull();
  });

  it('takes buffered bytes spread over many chunks', () => {
    const reader = new LineReader(512);
    for (const part of ['STARTTLS\r\nEH', 'LO ', 'evil\r\n']) reader.push(b(part));
    expect(reader.next()).toEqual({ kind: 'line', line: b('STARTTLS') });
    expect(reader.takeBuffered().toString()).toBe('EHLO evil\r\n');
    expect(reader.takeBuffered()).toHaveLength(0);
  });

  describe('line length', () => {
    it('accepts maxLength octets with CRLF, or maxLength - 1 with a bare LF', () => {
      expect(readChunks([b(`${'a'.repeat(510)}\r\n`)], 512)).toEqual(['a'.repeat(510)]);
      expect(readChunks([b(`${'a'.repeat(510)}\n`)], 512)).toEqual(['a'.repeat(510)]);
    });

    it('reports a longer line once and goes on after its LF', () => {
      expect(readChunks([b(`${'a'.repeat(511)}\r\nNOOP\r\n`)], 512)).toEqual([null, 'NOOP']);
      expect(readChunks([b(`${'a'.repeat(511)}\nNOOP\r\n`)], 512)).toEqual([null, 'NOOP']);
    });

    it('reports the line as soon as maxLength octets hold no LF, then discards to its LF', () => {
      const reader = new LineReader(10);
      reader.push(b('123456789'));
      expect(reader.next()).toBeNull();
      reader.push(b('0'));
      expect(reader.next()).toEqual({ kind: 'too-long' });
      expect(reader.next()).toBeNull();
      reader.push(b('more\r'));
      expect(reader.next()).toBeNull();
      reader.push(b('\nNOOP\r\n'));
      expect(reader.next()).toEqual({ kind: 'line', line: b('NOOP') });
    });

    it('does not cut a CRLF that straddles the limit', () => {
      const reader = new LineReader(10);
      reader.push(b('12345678\r'));
      expect(reader.next()).toBeNull();
      reader.push(b('\n'));
      expect(reader.next()).toEqual({ kind: 'line', line: b('12345678') });
    });

    it('keeps memory bounded for megabytes without an LF', () => {
      const reader = new LineReader(512);
      const junk = Buffer.alloc(64 * 1024, 0x41);
      const events = [];
      for (let i = 0; i < 256; i++) {
        reader.push(junk);
        events.push(...drain(reader));
        expect(reader.buffered).toBeLessThan(512);
      }
      reader.push(b('\r\nQUIT\r\n'));
      events.push(...drain(reader));
      expect(events).toEqual([null, 'QUIT']);
    });

    it('uses a changed maxLength from the next line on (AUTH continuation lines)', () => {
      const reader = new LineReader(512);
      const long = 'A'.repeat(4000);
      reader.push(b(`AUTH PLAIN\r\n${long}\r\n`));
      expect(reader.next()).toEqual({ kind: 'line', line: b('AUTH PLAIN') });
      reader.maxLength = 12_288;
      expect(reader.next()).toEqual({ kind: 'line', line: b(long) });
    });

    it('rejects a maxLength that leaves no room for CRLF', () => {
      expect(() => new LineReader(1)).toThrow(RangeError);
      expect(() => new LineReader(512.5)).toThrow(RangeError);
    });
  });

  it('returns the same events for every split and byte by byte', () => {
    const input = b(`EHLO a\r\n${'x'.repeat(20)}\r\nNOOP\n\r\r\nRSET\r\n${'y'.repeat(30)}`);
    const whole = readChunks([input], 16);
    expect(whole).toEqual(reference(input, 16));
    for (let i = 0; i <= input.length; i++) {
      expect(readChunks([input.subarray(0, i), input.subarray(i)], 16), `split at ${i}`).toEqual(
        whole,
      );
    }
    expect(
      readChunks(
        [...input].map((x) => Buffer.from([x])),
        16,
      ),
    ).toEqual(whole);
  });

  it('(d) for random input and random chunking, returns the reference split', () => {
    const byte = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(13, 10, 0x41, 0x20) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
    );
    fc.assert(
      fc.property(
        fc.array(byte, { maxLength: 80 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.integer({ min: 2, max: 12 }),
        (bytes, cuts, maxLength) => {
          const input = Buffer.from(bytes);
          const at = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((x, y) => x - y);
          const chunks = [0, ...at].map((from, i) => input.subarray(from, at[i] ?? input.length));
          expect(readChunks(chunks, maxLength)).toEqual(reference(input, maxLength));
        },
      ),
      { numRuns: 10_000 },
    );
  });
});
