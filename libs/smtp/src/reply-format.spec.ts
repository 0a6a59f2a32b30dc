import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { customReply, reply } from './replies.js';
import { formatReply } from './reply-format.js';
import { ReplyParser, type ParsedReply } from './reply-parser.js';

function parseAll(wire: string): ParsedReply[] {
  const parser = new ReplyParser();
  parser.push(Buffer.from(wire, 'utf8'));
  const out: ParsedReply[] = [];
  for (let e = parser.next(); e !== null; e = parser.next()) {
    if (e.kind === 'error') throw new Error(e.message);
    out.push(e.reply);
  }
  return out;
}

function wireLines(wire: string): string[] {
  expect(wire.endsWith('\r\n')).toBe(true);
  return wire.slice(0, -2).split('\r\n');
}

describe('formatReply', () => {
  it('formats a one-line reply with its enhanced code', () => {
    expect(formatReply(reply('relayDenied'))).toBe('554 5.7.1 Relay access denied\r\n');
  });

  it('formats a reply without an enhanced code', () => {
    expect(formatReply(reply('startData'))).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
  });

  it('puts the enhanced code on every line of a multi-line reply', () => {
    expect(formatReply(customReply(250, '2.0.0', ['a', 'b', 'c']))).toBe(
      '250-2.0.0 a\r\n250-2.0.0 b\r\n250 2.0.0 c\r\n',
    );
  });

  it('formats EHLO-style lines without an enhanced code', () => {
    expect(formatReply(customReply(250, undefined, ['relay.test', 'PIPELINING', '8BITMIME']))).toBe(
      '250-relay.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n',
    );
  });

  it('leaves no trailing space after an empty text', () => {
    expect(formatReply(customReply(250, '2.0.0', ['']))).toBe('250 2.0.0\r\n');
    expect(formatReply(customReply(250, '2.0.0', ['', '']))).toBe('250-2.0.0\r\n250 2.0.0\r\n');
    expect(formatReply(customReply(250, undefined, ['']))).toBe('250\r\n');
    expect(formatReply(customReply(250, undefined, ['', 'x']))).toBe('250-\r\n250 x\r\n');
    expect(formatReply(customReply(250, undefined, []))).toBe('250\r\n');
  });

  it('never lets a CR or LF inside a text reach the wire', () => {
    const wire = formatReply(
      customReply(550, '5.7.1', ['a\r\nb', 'c\rd\ne', 'f\r\n.\r\nMAIL FROM:<x>']),
    );
    expect(wire).toBe(
      '550-5.7.1 a\r\n550-5.7.1 b\r\n550-5.7.1 c\r\n550-5.7.1 d\r\n550-5.7.1 e\r\n' +
        '550-5.7.1 f\r\n550-5.7.1 .\r\n550 5.7.1 MAIL FROM:<x>\r\n',
    );
    for (const l of wireLines(wire)) expect(l).not.toMatch(/[\r\n]/);
  });

  it('wraps a long text at spaces, each line within 512 octets', () => {
    const words = Array.from({ length: 200 }, (_, i) => `word${i}`);
    const text = words.join(' ');
    const wire = formatReply(customReply(550, '5.1.1', text));
    const lines = wireLines(wire);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(Buffer.byteLength(l) + 2).toBeLessThanOrEqual(512);
    for (const l of lines.slice(0, -1)) expect(l).toMatch(/^550-5\.1\.1 .* $/);
    expect(lines.at(-1)).toMatch(/^550 5\.1\.1 /);
    // The space stays at the end of the earlier line: the pieces join back to the text.
    expect(lines.map((l) => l.slice(10)).join('')).toBe(text);
    // Wrapped at spaces, never inside a word.
    for (const l of lines) expect(words).toContain(l.slice(10).trimEnd().split(' ').at(-1));
  });

  it('splits a word that does not fit hard', () => {
    const text = 'x'.repeat(1200);
    const lines = wireLines(formatReply(customReply(250, undefined, text)));
    expect(lines.map((l) => l.length)).toEqual([510, 510, 1200 - 2 * 506 + 4]);
    expect(lines.map((l) => l.slice(4)).join('')).toBe(text);
  });

  it('counts octets, not characters, and never splits a UTF-8 sequence', () => {
    const text = 'é'.repeat(300) + '😀'.repeat(200);
    const wire = formatReply(customReply(250, '2.0.0', text), 100);
    const lines = wireLines(wire);
    for (const l of lines) {
      expect(Buffer.byteLength(l) + 2).toBeLessThanOrEqual(100);
      expect(l).not.toContain('\ufffd');
    }
    expect(lines.map((l) => l.slice(10)).join('')).toBe(text);
  });

  it('honours a smaller maxLine', () => {
    const lines = wireLines(formatReply(customReply(250, '2.0.0', 'aaa bbb ccc ddd'), 20));
    expect(lines).toEqual(['250-2.0.0 aaa bbb ', '250 2.0.0 ccc ddd']);
  });

  it('refuses malformed codes and enhanced codes', () => {
    expect(() => formatReply(customReply(99, undefined, 'x'))).toThrow(RangeError);
    expect(() => formatReply(customReply(600, undefined, 'x'))).toThrow(RangeError);
    expect(() => formatReply(customReply(250.5, undefined, 'x'))).toThrow(RangeError);
    expect(() => formatReply(customReply(250, '5.0.0', 'x'))).toThrow(RangeError);
    expect(() => formatReply(customReply(250, '2.0.0\r\nRCPT', 'x'))).toThrow(RangeError);
    expect(() => formatReply(customReply(250, '2.0.0', 'x'), 12)).toThrow(RangeError);
  });
});

// Texts without CR/LF, printable or not, ASCII or not.
const textArb = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 600 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc
    .array(fc.constantFrom('a', 'bb', ' ', 'ccc dd', 'é', '😀', '.'), { maxLength: 400 })
    .map((a) => a.join('')),
);
const cleanText = textArb.map((s) => s.replace(/[\r\n]/g, ' '));
const enhancedArb = (code: number) =>
  fc.option(
    fc
      .tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 999 }))
      .map(([s, d]) => `${Math.floor(code / 100)}.${s}.${d}`),
    { nil: undefined },
  );
const replyArb = fc
  .constantFrom(
    211,
    214,
    220,
    221,
    250,
    251,
    252,
    354,
    421,
    450,
    451,
    452,
    500,
    501,
    550,
    552,
    553,
    554,
  )
  .chain((code) =>
    fc.record({
      code: fc.constant(code),
      enhanced: code === 354 ? fc.constant(undefined) : enhancedArb(code),
      lines: fc.array(cleanText, { minLength: 1, maxLength: 6 }),
      maxLine: fc.oneof(fc.constant(512), fc.integer({ min: 20, max: 600 })),
    }),
  )
  // Without an enhanced code, a text that itself starts like one would be read as one.
  .filter(
    (r) => r.enhanced !== undefined || !/^[245]\.\d{1,3}\.\d{1,3}( |$)/.test(r.lines[0] as string),
  );

describe('formatReply and ReplyParser', () => {
  it('round-trip code, enhanced code and text; every line fits (property)', () => {
    fc.assert(
      fc.property(replyArb, (r) => {
        const wire = formatReply(customReply(r.code, r.enhanced, r.lines), r.maxLine);
        for (const l of wireLines(wire)) {
          expect(Buffer.byteLength(l, 'utf8') + 2).toBeLessThanOrEqual(r.maxLine);
          expect(l).not.toMatch(/[\r\n]/);
        }
        const parsed = parseAll(wire);
        expect(parsed).toHaveLength(1);
        const p = parsed[0] as ParsedReply;
        expect(p.code).toBe(r.code);
        expect(p.enhanced).toBe(r.enhanced);
        // Wrapping keeps every octet: the parsed lines join back to the texts.
        const norm = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
        expect(p.lines.join('')).toBe(norm(r.lines.join('')));
        // Texts that fit come back line for line.
        const room = r.maxLine - 6 - (r.enhanced === undefined ? 0 : r.enhanced.length + 1);
        if (r.lines.every((t) => Buffer.byteLength(t, 'utf8') <= room)) {
          expect(p.lines).toEqual(r.lines.map(norm));
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
