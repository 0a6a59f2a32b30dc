import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplyParser, toReply, type ReplyEvent } from './reply-parser.js';

function events(parser: ReplyParser): ReplyEvent[] {
  const out: ReplyEvent[] = [];
  for (let e = parser.next(); e !== null; e = parser.next()) out.push(e);
  return out;
}

function parse(wire: string | Buffer, max?: number): ReplyEvent[] {
  const parser = new ReplyParser(max);
  parser.push(typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire);
  return events(parser);
}

describe('ReplyParser', () => {
  it('parses a one-line reply with an enhanced code', () => {
    expect(parse('250 2.1.0 Ok\r\n')).toEqual([
      {
        kind: 'reply',
        reply: { code: 250, enhanced: '2.1.0', lines: ['Ok'], raw: '250 2.1.0 Ok\n' },
      },
    ]);
  });

  it('parses a multi-line EHLO reply', () => {
    const [e] = parse('250-mx.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n');
    expect(e).toEqual({
      kind: 'reply',
      reply: {
        code: 250,
        enhanced: undefined,
        lines: ['mx.test Hello', 'PIPELINING', 'SIZE 1000', '8BITMIME'],
        raw: '250-mx.test Hello\n250-PIPELINING\n250-SIZE 1000\n250 8BITMIME\n',
      },
    });
  });

  it('accepts "ddd" alone and "ddd-" with no text', () => {
    expect(parse('250-\r\n250\r\n')).toEqual([
      {
        kind: 'reply',
        reply: { code: 250, enhanced: undefined, lines: ['', ''], raw: '250-\n250\n' },
      },
    ]);
    const [e] = parse('250 2.0.0\r\n');
    expect(e).toMatchObject({ reply: { enhanced: '2.0.0', lines: [''] } });
  });

  it('strips the enhanced code from every line that carries it', () => {
    const [e] = parse('550-5.1.1 no such\r\n550-5.1.1 user\r\n550 5.1.1 here\r\n');
    expect(e).toMatchObject({
      reply: { code: 550, enhanced: '5.1.1', lines: ['no such', 'user', 'here'] },
    });
    // Only the first line carries it (seen in the wild): still the reply's code.
    const [f] = parse('550-5.1.1 no such\r\n550 user\r\n');
    expect(f).toMatchObject({ reply: { enhanced: '5.1.1', lines: ['no such', 'user'] } });
    // A later line with a different one keeps it.
    const [g] = parse('550-5.1.1 a\r\n550 5.7.1 b\r\n');
    expect(g).toMatchObject({ reply: { enhanced: '5.1.1', lines: ['a', '5.7.1 b'] } });
  });

  it('takes an enhanced code only of the reply class and followed by space or end', () => {
    expect(parse('250 5.0.0 x\r\n')[0]).toMatchObject({
      reply: { enhanced: undefined, lines: ['5.0.0 x'] },
    });
    expect(parse('250 2.0.0x\r\n')[0]).toMatchObject({
      reply: { enhanced: undefined, lines: ['2.0.0x'] },
    });
    expect(parse('250 2.0.1000 x\r\n')[0]).toMatchObject({ reply: { enhanced: undefined } });
    expect(parse('451 4.7.650 x\r\n')[0]).toMatchObject({
      reply: { enhanced: '4.7.650', lines: ['x'] },
    });
    expect(parse('354 3.0.0 go\r\n')[0]).toMatchObject({
      reply: { enhanced: undefined, lines: ['3.0.0 go'] },
    });
  });

  it('accepts bare LF line ends', () => {
    expect(parse('250-a\n250 b\n')[0]).toMatchObject({
      reply: { lines: ['a', 'b'], raw: '250-a\n250 b\n' },
    });
  });

  it('keeps a CR inside a line and turns undecodable octets into U+FFFD', () => {
    const [e] = parse(Buffer.from([0x32, 0x35, 0x30, 0x20, 0x61, 0x0d, 0x62, 0xff, 0x0d, 0x0a]));
    expect(e).toMatchObject({ reply: { lines: ['a\rb\ufffd'] } });
  });

  it('returns several pipelined replies in order', () => {
    const out = parse('250 2.1.0 Ok\r\n550 5.1.1 No\r\n250 2.1.5 Ok\r\n354 Go\r\n');
    expect(out.map((e) => (e.kind === 'reply' ? e.reply.code : e.kind))).toEqual([
      250, 550, 250, 354,
    ]);
  });

  it('waits for more bytes, across any chunking', () => {
    const wire = Buffer.from('250-first\r\n250-second\r\n250 third\r\n220 x\r\n');
    for (let size = 1; size <= wire.length; size++) {
      const parser = new ReplyParser();
      const out: ReplyEvent[] = [];
      for (let i = 0; i < wire.length; i += size) {
        parser.push(wire.subarray(i, i + size));
        out.push(...events(parser));
      }
      expect(out.map((e) => (e.kind === 'reply' ? e.reply.lines : e))).toEqual([
        ['first', 'second', 'third'],
        ['x'],
      ]);
    }
  });

  it('reports what is buffered', () => {
    const parser = new ReplyParser();
    parser.push(Buffer.from('250-a\r\n250'));
    expect(parser.next()).toBeNull();
    expect(parser.buffered).toBe(10);
    parser.push(Buffer.from(' b\r\n'));
    expect(parser.next()).not.toBeNull();
    expect(parser.buffered).toBe(0);
  });

  it.each([
    ['garbage', 'hello\r\n'],
    ['a code out of range', '199 x\r\n'],
    ['a code out of range', '600 x\r\n'],
    ['a bad separator', '250_x\r\n'],
    ['a short line', '25\r\n'],
    ['an empty line', '\r\n'],
    ['a code that changes', '250-a\r\n251 b\r\n'],
    ['a non-digit code', '2a0 x\r\n'],
  ])('reports %s as an error, then stays silent', (_what, wire) => {
    const parser = new ReplyParser();
    parser.push(Buffer.from(wire));
    expect(parser.next()).toMatchObject({ kind: 'error' });
    parser.push(Buffer.from('250 ok\r\n'));
    expect(parser.next()).toBeNull();
  });

  it('bounds one reply, partial line included', () => {
    expect(parse(`250-${'a'.repeat(100)}\r\n`.repeat(10) + '250 x\r\n', 1000)[0]).toMatchObject({
      kind: 'error',
      message: 'reply too long',
    });
    const parser = new ReplyParser(1000);
    parser.push(Buffer.alloc(1001, 0x61));
    expect(parser.next()).toMatchObject({ kind: 'error', message: 'reply too long' });
    // The bound is per reply: many small replies are fine.
    expect(parse('250 ok\r\n'.repeat(1000), 100)).toHaveLength(1000);
  });

  it('gives a custom Reply', () => {
    const [e] = parse('550 5.7.1 Relaying denied\r\n');
    if (e?.kind !== 'reply') throw new Error('no reply');
    expect(toReply(e.reply)).toEqual({
      code: 550,
      enhanced: '5.7.1',
      lines: ['Relaying denied'],
      name: 'custom',
    });
  });

  it('never throws and stays bounded on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), (chunks) => {
        const parser = new ReplyParser(300);
        for (const c of chunks) {
          parser.push(Buffer.from(c));
          for (let e = parser.next(); e !== null; e = parser.next()) {
            if (e.kind === 'reply') expect(e.reply.code).toBeGreaterThanOrEqual(200);
          }
          expect(parser.buffered).toBeLessThanOrEqual(300 + 200);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
