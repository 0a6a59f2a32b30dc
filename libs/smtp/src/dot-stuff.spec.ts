import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DotStuffer, dotStuff } from './dot-stuff.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const wire = (body: string | string[]): string =>
  Buffer.concat(dotStuff(typeof body === 'string' ? b(body) : body.map(b))).toString('latin1');

/** True when every CR is followed by LF and every LF follows a CR. */
function onlyCrlf(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] !== 10) return false;
    if (bytes[i] === 10 && bytes[i - 1] !== 13) return false;
  }
  return true;
}

describe('dotStuff', () => {
  it('sends an empty body as ".CRLF" alone', () => {
    expect(wire('')).toBe('.\r\n');
    expect(wire([])).toBe('.\r\n');
  });

  it('leaves a CRLF body as it is and adds the terminator', () => {
    expect(wire('Subject: x\r\n\r\nhello\r\n')).toBe('Subject: x\r\n\r\nhello\r\n.\r\n');
  });

  it('ends an unterminated last line', () => {
    expect(wire('hello')).toBe('hello\r\n.\r\n');
  });

  it('stuffs a "." at the start of every line that begins with one', () => {
    expect(wire('.\r\n..x\r\na.b\r\n.')).toBe('..\r\n...x\r\na.b\r\n..\r\n.\r\n');
  });

  it('turns a bare LF and a bare CR into CRLF', () => {
    expect(wire('a\nb\rc\r\r\nd\n\re')).toBe('a\r\nb\r\nc\r\n\r\nd\r\n\r\ne\r\n.\r\n');
  });

  // The smuggling sequences become harmless lines: nothing in them can end DATA early.
  const smuggling: [string, string][] = [
    ['\n.\n', '\r\n..\r\n'],
    ['\n.\r\n', '\r\n..\r\n'],
    ['\r.\r', '\r\n..\r\n'],
    ['\r.\r\n', '\r\n..\r\n'],
    ['\r.\n', '\r\n..\r\n'],
    ['\n.\r', '\r\n..\r\n'],
    ['\r\n\0.\r\n', '\r\n\0.\r\n'],
    ['\r\n.\r\r\n', '\r\n..\r\n\r\n'],
    ['\r\n.\r\n', '\r\n..\r\n'],
  ];
  for (const [sequence, sent] of smuggling) {
    it(`sends ${JSON.stringify(sequence)} as ${JSON.stringify(sent)}`, () => {
      expect(wire(`x${sequence}MAIL FROM:<e@vil>\r\n`)).toBe(`x${sent}MAIL FROM:<e@vil>\r\n.\r\n`);
    });
  }

  it('holds a CR at the end of a chunk until the next octet is known', () => {
    const stuffer = new DotStuffer();
    const out = [...stuffer.push(b('a\r'))];
    expect(Buffer.concat(out).toString()).toBe('a');
    out.push(...stuffer.push(b('\n.b\r')), ...stuffer.push(b('.c')), ...stuffer.end());
    expect(Buffer.concat(out).toString()).toBe('a\r\n..b\r\n..c\r\n.\r\n');
  });

  it('turns a CR at the very end into CRLF', () => {
    expect(wire(['a', '\r'])).toBe('a\r\n.\r\n');
  });

  it('knows a line start across chunks', () => {
    expect(wire(['a\r\n', '.', '.'])).toBe('a\r\n...\r\n.\r\n');
    expect(wire(['a\r', '\n', '.x'])).toBe('a\r\n..x\r\n.\r\n');
    expect(wire(['a\r', '.x'])).toBe('a\r\n..x\r\n.\r\n');
  });

  it('encodes a chunk larger than its scan window as it encodes small chunks', () => {
    const edge = 64 * 1024;
    for (let shift = -3; shift <= 3; shift++) {
      for (const straddle of ['\r\n.', '\r.', '\n.', '\r\r', '.\r\n']) {
        const body = b(`${'x'.repeat(edge + shift - 1)}${straddle}${'y'.repeat(10)}\n`);
        const small: Buffer[] = [];
        for (let at = 0; at < body.length; at += 1000) small.push(body.subarray(at, at + 1000));
        expect(Buffer.concat(dotStuff(body))).toEqual(Buffer.concat(dotStuff(small)));
      }
    }
  });

  it('sends views of the body, not copies', () => {
    const body = b('one\r\ntwo\r\n');
    const [first] = dotStuff(body);
    expect(first?.buffer).toBe(body.buffer);
    expect(first?.toString()).toBe('one\r\ntwo\r\n');
  });

  it('refuses use after end', () => {
    const stuffer = new DotStuffer();
    stuffer.end();
    expect(() => stuffer.push(b('x'))).toThrow();
    expect(() => stuffer.end()).toThrow();
  });

  it('never puts a stray CR or LF on the wire, and chunking does not change the bytes', () => {
    const byte = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(13, 10, 46, 0, 0x61) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
    );
    fc.assert(
      fc.property(
        fc.array(byte, { maxLength: 48 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (bytes, cuts) => {
          const body = Buffer.from(bytes);
          const whole = Buffer.concat(dotStuff(body));
          const at = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((x, y) => x - y);
          const chunks = [0, ...at].map((from, i) => body.subarray(from, at[i] ?? body.length));
          expect(Buffer.concat(dotStuff(chunks))).toEqual(whole);
          expect(onlyCrlf(whole)).toBe(true);
          expect(whole.subarray(-3).toString()).toBe('.\r\n');
          // No line of the wire but the last is ".CRLF" alone.
          expect(Buffer.concat([b('\r\n'), whole]).indexOf(b('\r\n.\r\n'))).toBe(whole.length - 3);
        },
      ),
      { numRuns: 10_000 },
    );
  });
});
