import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataReader, type DataViolation } from './data-reader.js';
import { dotStuff } from './dot-stuff.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const BIG = { textLine: 1_000_000, messageSize: 1_000_000_000 };
const RFC = { textLine: 1000, messageSize: 1_000_000 };

interface Outcome {
  body: string;
  slices: number;
  size: number;
  violation: DataViolation | null;
  rest: string;
  /** Index of the chunk whose push returned the end. */
  endChunk: number;
}

/** Feeds `chunks` in order; null when no push returned the end. */
function read(
  chunks: readonly Buffer[],
  limits: { textLine: number; messageSize: number } = RFC,
): Outcome | null {
  const reader = new DataReader(limits);
  for (let i = 0; i < chunks.length; i++) {
    const end = reader.push(chunks[i] as Buffer);
    if (end !== null) {
      if (end.violation !== null) expect(end.body).toEqual([]);
      return {
        body: Buffer.concat(end.body).toString('latin1'),
        slices: end.body.length,
        size: end.size,
        violation: end.violation,
        rest: Buffer.concat([end.rest, ...chunks.slice(i + 1)]).toString('latin1'),
        endChunk: i,
      };
    }
  }
  return null;
}

/** `input` cut at the given offsets (any order, duplicates allowed). */
function split(input: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    out.push(input.subarray(from, c));
    from = c;
  }
  out.push(input.subarray(from));
  return out;
}

const withoutChunk = (o: Outcome | null) => (o === null ? null : { ...o, slices: 0, endChunk: 0 });

/** Every way of reading `input`: whole, split once anywhere, byte by byte. All must agree. */
function readEveryWay(input: string, limits = RFC): Outcome | null {
  const bytes = b(input);
  const whole = withoutChunk(read([bytes], limits));
  for (let i = 0; i <= bytes.length; i++) {
    expect(withoutChunk(read(split(bytes, [i]), limits)), `split at ${i}`).toEqual(whole);
  }
  const single = [...bytes].map((x) => Buffer.from([x]));
  expect(withoutChunk(read(single, limits)), 'byte by byte').toEqual(whole);
  return whole;
}

/**
 * The reference, written for clarity, not speed: the end is the first
 * "\r\n.\r\n" in the stream preceded by "\r\n"; the message is every line
 * before it, unstuffed; each violation sits at the octet that reveals it.
 */
function reference(input: Buffer, limits: { textLine: number; messageSize: number }) {
  const stream = Buffer.concat([b('\r\n'), input]);
  const k = stream.indexOf(b('\r\n.\r\n'));
  if (k < 0) return null;
  const data = input.subarray(0, k); // complete lines, each ending in LF
  const rest = input.subarray(k + 3);
  const body: number[] = [];
  const events: { at: number; rank: number; violation: DataViolation }[] = [];
  let lineStart = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x === 13 && data[i + 1] !== 10)
      events.push({ at: i + 1, rank: 0, violation: 'bare-line-ending' });
    if (x === 10 && (i === 0 || data[i - 1] !== 13))
      events.push({ at: i, rank: 0, violation: 'bare-line-ending' });
    if (i - lineStart === limits.textLine)
      events.push({ at: i, rank: 1, violation: 'line-too-long' });
    if (!(i === lineStart && x === 46)) {
      body.push(x as number);
      if (body.length === limits.messageSize + 1)
        events.push({ at: i, rank: 2, violation: 'too-big' });
    }
    if (x === 10) lineStart = i + 1;
  }
  events.sort((p, q) => p.at - q.at || p.rank - q.rank);
  const violation = events[0]?.violation ?? null;
  return {
    body: violation === null ? Buffer.from(body).toString('latin1') : '',
    size: body.length,
    violation,
    rest: rest.toString('latin1'),
  };
}

/** The normal form a client's body is sent in: every line ending CRLF, the last line ended. */
function normalise(body: Buffer): string {
  let out = '';
  const s = body.toString('latin1');
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\r') {
      out += '\r\n';
      if (s[i + 1] === '\n') i++;
    } else if (c === '\n') {
      out += '\r\n';
    } else {
      out += c;
    }
  }
  if (out.length > 0 && !out.endsWith('\r\n')) out += '\r\n';
  return out;
}

describe('DataReader: end of data', () => {
  it('ends at CRLF.CRLF and keeps the CRLF before it', () => {
    const end = readEveryWay('Subject: hi\r\n\r\nHello\r\n.\r\n');
    expect(end).toMatchObject({
      body: 'Subject: hi\r\n\r\nHello\r\n',
      size: 22,
      violation: null,
      rest: '',
    });
  });

  it('ends an empty message at ".CRLF" as the first line (the DATA command supplies the CRLF)', () => {
    const reader = new DataReader(RFC);
    expect(reader.push(b('.\r\n'))).toEqual({
      body: [],
      size: 0,
      violation: null,
      rest: Buffer.alloc(0),
    });
  });

  it('hands back what follows the terminator (pipelined commands)', () => {
    expect(readEveryWay('a\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n')).toMatchObject({
      body: 'a\r\n',
      rest: 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n',
    });
  });

  it('returns null until the end has been seen', () => {
    const reader = new DataReader(RFC);
    for (const part of ['Hello\r', '\n', '.', '\r']) expect(reader.push(b(part))).toBeNull();
    const end = reader.push(b('\n'));
    expect(Buffer.concat(end?.body ?? []).toString()).toBe('Hello\r\n');
    expect(end?.rest).toHaveLength(0);
  });

  it('refuses a push after the end', () => {
    const reader = new DataReader(RFC);
    reader.push(b('.\r\n'));
    expect(() => reader.push(b('x'))).toThrow(/after the end/);
  });

  it('does not end at a "." line that is not exactly ".CRLF"', () => {
    expect(readEveryWay('. \r\n.x\r\n..\r\n.\r\n')).toMatchObject({
      body: ' \r\nx\r\n.\r\n',
      violation: null,
    });
  });

  // SAFETY.md "SMTP smuggling": none of these may end the data, and each one
  // but the NUL case makes the message a bare-line-ending violation.
  const smuggling: [string, DataViolation | null][] = [
    ['\n.\n', 'bare-line-ending'],
    ['\n.\r\n', 'bare-line-ending'],
    ['\r.\r', 'bare-line-ending'],
    ['\r.\r\n', 'bare-line-ending'],
    ['\r.\n', 'bare-line-ending'],
    ['\n.\r', 'bare-line-ending'],
    ['\r\n\0.\r\n', null],
    ['\r\n.\r\r\n', 'bare-line-ending'],
    ['\r\n.\n', 'bare-line-ending'],
    ['\r\n.\r', 'bare-line-ending'],
  ];
  for (const [sequence, violation] of smuggling) {
    it(`does not end at ${JSON.stringify(sequence)}`, () => {
      const smuggled =
        'MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n';
      const input = `From: a@b\r\n\r\nhello${sequence}${smuggled}forged\r\n.\r\nQUIT\r\n`;
      const end = readEveryWay(input);
      expect(end).not.toBeNull();
      expect(end?.rest).toBe('QUIT\r\n');
      expect(end?.violation).toBe(violation);
      if (violation === null) expect(end?.body).toBe(input.slice(0, -'.\r\nQUIT\r\n'.length));
    });
  }

  it('does not end at ".\\r\\n" after a bare LF at the very start', () => {
    expect(readEveryWay('\n.\r\nx\r\n.\r\n')).toMatchObject({
      violation: 'bare-line-ending',
      rest: '',
    });
  });
});

describe('DataReader: dot-unstuffing', () => {
  it('removes the first "." of every line that begins with one', () => {
    const end = readEveryWay('..\r\n...three\r\nmid.dle\r\n.\r\n');
    expect(end).toMatchObject({ body: '.\r\n..three\r\nmid.dle\r\n', size: 21, violation: null });
  });

  it('counts the size after unstuffing', () => {
    expect(readEveryWay('..\r\n.\r\n')?.size).toBe(3);
  });
});

describe('DataReader: bare CR and LF', () => {
  const cases = [
    'a\nb\r\n.\r\n',
    'a\rb\r\n.\r\n',
    'a\r\r\n.\r\n',
    'a\n\r\n.\r\n',
    '\n\r\n.\r\n',
    '\r\r\n.\r\n',
    'a\r\n\n.\r\nz\r\n.\r\n',
    'a\r\n\r.\r\nz\r\n.\r\n',
  ];
  for (const input of cases) {
    it(`refuses ${JSON.stringify(input)} and reads on to the real end`, () => {
      expect(readEveryWay(input)).toMatchObject({
        body: '',
        violation: 'bare-line-ending',
        rest: '',
      });
    });
  }

  it('keeps counting the size after a violation', () => {
    expect(readEveryWay('a\nbc\r\n.\r\n')).toMatchObject({
      size: 6,
      violation: 'bare-line-ending',
    });
  });
});

describe('DataReader: line length', () => {
  it('accepts a line of exactly textLine octets with its CRLF', () => {
    const line = 'x'.repeat(998) + '\r\n';
    expect(readEveryWay(`${line}.\r\n`)).toMatchObject({ body: line, violation: null });
  });

  it('refuses a line of textLine + 1 octets', () => {
    expect(readEveryWay(`${'x'.repeat(999)}\r\n.\r\n`)).toMatchObject({
      body: '',
      violation: 'line-too-long',
    });
  });

  it('counts the stuffed dot: the raw line is what is limited', () => {
    expect(readEveryWay(`.${'x'.repeat(997)}\r\n.\r\n`)?.violation).toBeNull();
    expect(readEveryWay(`.${'x'.repeat(998)}\r\n.\r\n`)?.violation).toBe('line-too-long');
  });

  it('uses the limit it is given', () => {
    const limits = { textLine: 5, messageSize: 100 };
    expect(readEveryWay('abc\r\n.\r\n', limits)?.violation).toBeNull();
    expect(readEveryWay('abcd\r\n.\r\n', limits)?.violation).toBe('line-too-long');
  });

  it('keeps no memory for a huge line and still finds the end', () => {
    const reader = new DataReader(RFC);
    const junk = Buffer.alloc(1 << 20, 0x61);
    for (let i = 0; i < 64; i++) expect(reader.push(junk)).toBeNull();
    const end = reader.push(b('\r\n.\r\nQUIT\r\n'));
    expect(end).toMatchObject({ body: [], violation: 'line-too-long', size: 64 * (1 << 20) + 2 });
    expect(end?.rest.toString()).toBe('QUIT\r\n');
  });
});

describe('DataReader: message size', () => {
  const limits = { textLine: 1000, messageSize: 10 };

  it('accepts a message of exactly messageSize octets', () => {
    expect(readEveryWay('12345678\r\n.\r\n', limits)).toMatchObject({ size: 10, violation: null });
  });

  it('refuses one octet more, keeps nothing, counts on and finds the end', () => {
    expect(readEveryWay('123456789\r\nmore\r\n.\r\nNOOP\r\n', limits)).toMatchObject({
      body: '',
      size: 17,
      violation: 'too-big',
      rest: 'NOOP\r\n',
    });
  });

  it('does not count stuffed dots', () => {
    expect(
      readEveryWay('.12345678\r\n.\r\n', { textLine: 1000, messageSize: 10 })?.violation,
    ).toBeNull();
    expect(readEveryWay('.12345678\r\n.\r\n', { textLine: 1000, messageSize: 9 })?.violation).toBe(
      'too-big',
    );
  });
});

describe('DataReader: the first violation wins', () => {
  it('too-big before a later bare LF', () => {
    expect(
      readEveryWay('0123456789abc\r\nx\ny\r\n.\r\n', { textLine: 1000, messageSize: 5 })?.violation,
    ).toBe('too-big');
  });

  it('bare LF before a later long line and a later size overflow', () => {
    expect(
      readEveryWay('a\nbbbbbbbbbbbbbbbbbbbbb\r\n.\r\n', { textLine: 10, messageSize: 10 })
        ?.violation,
    ).toBe('bare-line-ending');
  });

  it('a long line before a later bare CR', () => {
    expect(
      readEveryWay('abcdefghijklmn\rx\r\n.\r\n', { textLine: 10, messageSize: 100 })?.violation,
    ).toBe('line-too-long');
  });

  it('on a tie: bare line ending, then line too long, then too big', () => {
    // The bare CR is revealed by "x", which is also the 6th octet of the line and of the message.
    expect(readEveryWay('abcd\rx\r\n.\r\n', { textLine: 5, messageSize: 5 })?.violation).toBe(
      'bare-line-ending',
    );
    expect(readEveryWay('abcdex\r\n.\r\n', { textLine: 5, messageSize: 5 })?.violation).toBe(
      'line-too-long',
    );
  });
});

describe('DataReader: slices', () => {
  it('hands out views of the pushed chunk, not copies', () => {
    const chunk = b('one\r\n..two\r\nthree\r\n.\r\n');
    const end = new DataReader(RFC).push(chunk);
    expect(end?.body.map((s) => s.toString('latin1'))).toEqual(['one\r\n', '.two\r\nthree\r\n']);
    for (const slice of end?.body ?? []) expect(slice.buffer).toBe(chunk.buffer);
  });

  it('rejects limits that cannot work', () => {
    expect(() => new DataReader({ textLine: 2, messageSize: 10 })).toThrow(RangeError);
    expect(() => new DataReader({ textLine: 1000, messageSize: -1 })).toThrow(RangeError);
  });
});

describe('DataReader: chunk boundaries', () => {
  const inputs = [
    'a\r\n.\r\n',
    '.\r\n',
    '..\r\n.\r\n',
    '.\r\r\n.\r\n',
    'x\r\n.\rx\r\n.\r\nrest',
    '\r\n.\r\n',
    'a\r\n.\n.\r\nz\r\n.\r\n',
    'a\r\n.a\r\n\r\n.\r\nQUIT\r\n',
  ];
  it('gives the same result for every split of a message into three chunks', () => {
    for (const input of inputs) {
      const bytes = b(input);
      const whole = withoutChunk(read([bytes]));
      expect(whole).not.toBeNull();
      expect(whole).toEqual({ ...reference(bytes, RFC), slices: 0, endChunk: 0 });
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          expect(
            withoutChunk(read(split(bytes, [i, j]))),
            `${JSON.stringify(input)} at ${i},${j}`,
          ).toEqual(whole);
        }
      }
    }
  });

  it('reads a chunk larger than its scan window, whatever straddles the window edge', () => {
    const edge = 64 * 1024;
    for (let shift = -6; shift <= 6; shift++) {
      for (const tail of ['\r\n.\r\nQUIT\r\n', '\r\n..x\r\n\r\n.\r\n', '\r\n.\r\r\n.\r\n']) {
        const filler = 'y'.repeat(edge + shift - 2) + '\r\n';
        const input = b(`${filler.slice(0, 70)}\r\n${filler.slice(72)}${tail}${'z'.repeat(edge)}`);
        const expected = reference(input, BIG);
        expect(withoutChunk(read([input], BIG)), `${shift} ${JSON.stringify(tail)}`).toEqual({
          ...expected,
          slices: 0,
          endChunk: 0,
        });
      }
    }
  });

  it('does not lose a pending "." or CR across empty chunks', () => {
    const empty = Buffer.alloc(0);
    const chunks = [b('a\r'), empty, b('\n.'), empty, empty, b('\r'), empty, b('\nQ')];
    expect(withoutChunk(read(chunks))).toEqual({
      body: 'a\r\n',
      slices: 0,
      size: 3,
      violation: null,
      rest: 'Q',
      endChunk: 0,
    });
  });
});

// Bytes that make the interesting cases likely: line endings, dots, NUL, letters.
const interestingByte = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(13, 10, 46, 0, 0x61, 0x62) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const token = fc.oneof(
  { weight: 6, arbitrary: interestingByte.map((x) => Buffer.from([x])) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('\r\n', '\r\n.', '\r\n..', '.\r\n', '\n.', '\r.', '\r\n.\r\n')
      .map(b),
  },
);
const rawInput = fc.array(token, { maxLength: 40 }).map((parts) => Buffer.concat(parts));
const cuts = fc.array(fc.nat(), { maxLength: 8 });
const smallLimits = fc.record({
  textLine: fc.integer({ min: 3, max: 24 }),
  messageSize: fc.integer({ min: 0, max: 60 }),
});

describe('DataReader: properties', () => {
  it('(a) reads back exactly a CRLF body that dotStuff encoded, however it is chunked', () => {
    const line = fc
      .array(
        fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(46, 0x61, 0x20, 0) },
          {
            weight: 1,
            arbitrary: fc.integer({ min: 0, max: 255 }).filter((x) => x !== 10 && x !== 13),
          },
        ),
        { maxLength: 12 },
      )
      .map((bytes) => Buffer.concat([Buffer.from(bytes), b('\r\n')]));
    const body = fc.array(line, { maxLength: 12 }).map((lines) => Buffer.concat(lines));
    fc.assert(
      fc.property(body, cuts, cuts, (message, bodyCuts, wireCuts) => {
        const wire = Buffer.concat(dotStuff(split(message, bodyCuts)));
        const chunks = split(wire, wireCuts);
        const end = read(chunks, BIG);
        expect(end).not.toBeNull();
        expect(end?.body).toBe(message.toString('latin1'));
        expect(end?.size).toBe(message.length);
        expect(end?.violation).toBeNull();
        expect(end?.rest).toBe('');
        expect(end?.endChunk).toBe(chunks.length - 1 - countTrailingEmpty(chunks));
      }),
      { numRuns: 10_000 },
    );
  });

  it('(b) reads any body dotStuff encoded as its normal form, ending exactly once at the end', () => {
    const body = fc.array(interestingByte, { maxLength: 48 }).map((bytes) => Buffer.from(bytes));
    fc.assert(
      fc.property(body, cuts, cuts, (message, bodyCuts, wireCuts) => {
        const wire = Buffer.concat(dotStuff(split(message, bodyCuts)));
        const chunks = split(wire, wireCuts);
        const end = read(chunks, BIG);
        expect(end).not.toBeNull();
        expect(end?.body).toBe(normalise(message));
        expect(end?.violation).toBeNull();
        expect(end?.rest).toBe('');
        expect(end?.endChunk).toBe(chunks.length - 1 - countTrailingEmpty(chunks));
      }),
      { numRuns: 10_000 },
    );
  });

  it('(c) finds the end exactly at the first CRLF.CRLF of raw input, and agrees with the reference', () => {
    fc.assert(
      fc.property(rawInput, cuts, smallLimits, (input, inputCuts, limits) => {
        const end = withoutChunk(read(split(input, inputCuts), limits));
        const expected = reference(input, limits);
        if (expected === null) expect(end).toBeNull();
        else expect(end).toEqual({ ...expected, slices: 0, endChunk: 0 });
      }),
      { numRuns: 10_000 },
    );
  });
});

function countTrailingEmpty(chunks: readonly Buffer[]): number {
  let n = 0;
  for (let i = chunks.length - 1; i > 0 && (chunks[i] as Buffer).length === 0; i--) n++;
  return n;
}
