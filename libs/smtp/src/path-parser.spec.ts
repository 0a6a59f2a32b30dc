import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pathArb, ROOMY_LIMITS } from '../test/support/path-arbitraries.js';
import { DEFAULT_LIMITS, type SmtpLimits } from './limits.js';
import {
  formatMailbox,
  formatPath,
  parsePath,
  type PathError,
  type PathOptions,
} from './path-parser.js';
import type { Mailbox, Path } from './types.js';

const FORWARD: PathOptions = { kind: 'forward', utf8Allowed: false, limits: DEFAULT_LIMITS };
const REVERSE: PathOptions = { kind: 'reverse', utf8Allowed: false, limits: DEFAULT_LIMITS };
const FORWARD_UTF8: PathOptions = { ...FORWARD, utf8Allowed: true };

function ok(text: string, options: PathOptions = FORWARD): Path {
  const r = parsePath(text, options);
  if (!r.ok) throw new Error(`${text}: ${r.error}`);
  return r.path;
}

function mailbox(text: string, options: PathOptions = FORWARD): Mailbox {
  const m = ok(text, options).mailbox;
  if (m === null) throw new Error(`${text}: null mailbox`);
  return m;
}

function error(text: string, options: PathOptions = FORWARD): PathError | 'ok' {
  const r = parsePath(text, options);
  return r.ok ? 'ok' : r.error;
}

/** Every string inside a value. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (v === null || typeof v !== 'object') return [];
  return Object.values(v).flatMap(strings);
}

describe('parsePath: valid mailboxes', () => {
  it.each([
    // [path, localPart, quoted, domain]
    ['<user@example.com>', 'user', false, 'example.com'],
    ['<User.Name+tag@Example.COM>', 'User.Name+tag', false, 'example.com'],
    ["<!#$%&'*+-/=?^_`{|}~@x.org>", "!#$%&'*+-/=?^_`{|}~", false, 'x.org'],
    ['<a.b.c@x.org>', 'a.b.c', false, 'x.org'],
    ['<"john smith"@example.com>', 'john smith', true, 'example.com'],
    ['<"a\\"b"@x.org>', 'a"b', true, 'x.org'],
    ['<"a\\\\b"@x.org>', 'a\\b', true, 'x.org'],
    ['<"a\\xb"@x.org>', 'axb', true, 'x.org'],
    ['<"a@b"@x.org>', 'a@b', true, 'x.org'],
    ['<"a%b"@x.org>', 'a%b', true, 'x.org'],
    ['<"a..b"@x.org>', 'a..b', true, 'x.org'],
    ['<""@x.org>', '', true, 'x.org'],
    ['<"abc"@x.org>', 'abc', true, 'x.org'],
    ['<a%b@x.org>', 'a%b', false, 'x.org'],
    ['<a!b@x.org>', 'a!b', false, 'x.org'],
    ['<a@localhost>', 'a', false, 'localhost'],
    ['<a@a-b.c--d.org>', 'a', false, 'a-b.c--d.org'],
    ['<a@123.example>', 'a', false, '123.example'],
    ['<a@x.1a>', 'a', false, 'x.1a'],
    ['<a@xn--bcher-kva.example>', 'a', false, 'xn--bcher-kva.example'],
    [`<a@${'x'.repeat(63)}.org>`, 'a', false, `${'x'.repeat(63)}.org`],
  ])('%s', (text, localPart, quoted, domain) => {
    const m = mailbox(text);
    expect(m).toEqual({ localPart, quoted, domain, addressLiteral: null, utf8: false });
  });

  it('keeps the raw path and returns the rest with its leading spaces', () => {
    const r = parsePath('<Joe@Example.COM>  SIZE=1 BODY=7BIT', REVERSE);
    expect(r).toMatchObject({ ok: true, rest: '  SIZE=1 BODY=7BIT' });
    if (r.ok) expect(r.path.raw).toBe('Joe@Example.COM');
  });

  it('finds the end of the path past a ">" inside a quoted local part', () => {
    const r = parsePath('<"a>b"@x.org> X', FORWARD);
    expect(r).toMatchObject({ ok: true, rest: ' X' });
  });

  it('accepts the null reverse-path and refuses it as a forward-path', () => {
    expect(ok('<>', REVERSE)).toEqual({ route: [], mailbox: null, raw: '' });
    expect(parsePath('<> SIZE=1', REVERSE)).toMatchObject({ ok: true, rest: ' SIZE=1' });
    expect(error('<>', FORWARD)).toBe('syntax');
  });

  it.each(['<postmaster>', '<Postmaster>', '<POSTMASTER>'])(
    'accepts %s as a forward-path without a domain',
    (text) => {
      expect(mailbox(text)).toEqual({
        localPart: text.slice(1, -1),
        quoted: false,
        domain: null,
        addressLiteral: null,
        utf8: false,
      });
    },
  );

  it.each([
    '<postmaster>',
    '<"postmaster">',
    '<@a.org:postmaster>',
    '<postmistress>',
    '<postmaster@>',
  ])('refuses %s as a reverse-path or a malformed postmaster', (text) => {
    expect(error(text, REVERSE)).toBe('syntax');
    if (text !== '<postmaster>') expect(error(text, FORWARD)).toBe('syntax');
  });

  it('keeps a source route, lower-cased, on forward- and reverse-paths', () => {
    const text = '<@ONE.example,@two.EXAMPLE:user@C.example>';
    for (const options of [FORWARD, REVERSE]) {
      const p = ok(text, options);
      expect(p.route).toEqual(['one.example', 'two.example']);
      expect(p.mailbox?.domain).toBe('c.example');
      expect(p.raw).toBe('@ONE.example,@two.EXAMPLE:user@C.example');
    }
  });
});

describe('parsePath: address literals', () => {
  it.each([
    ['[192.0.2.1]', 4, '192.0.2.1'],
    ['[0.0.0.0]', 4, '0.0.0.0'],
    ['[255.255.255.255]', 4, '255.255.255.255'],
    ['[010.000.002.001]', 4, '10.0.2.1'],
    ['[IPv6:2001:0db8:0000:0000:0000:0000:0000:0001]', 6, '2001:db8::1'],
    ['[IPv6:2001:DB8::1]', 6, '2001:db8::1'],
    ['[ipv6:::1]', 6, '::1'],
    ['[IPv6:::]', 6, '::'],
    ['[IPv6:1::]', 6, '1::'],
    ['[IPv6:1:2:3:4:5:6:7:8]', 6, '1:2:3:4:5:6:7:8'],
    ['[IPv6:1:0:3:4:5:6:7:8]', 6, '1:0:3:4:5:6:7:8'],
    ['[IPv6:1:2:3:4:5:6::]', 6, '1:2:3:4:5:6::'],
    ['[IPv6:2001:db8:0:0:1:0:0:1]', 6, '2001:db8::1:0:0:1'],
    ['[IPv6:2001:0:0:1:0:0:0:1]', 6, '2001:0:0:1::1'],
    ['[IPv6:0:0:0:0:0:ffff:192.0.2.1]', 6, '::ffff:c000:201'],
    ['[IPv6:::FFFF:192.0.2.1]', 6, '::ffff:c000:201'],
    ['[IPv6:::ffff:a0a:a0a]', 6, '::ffff:a0a:a0a'],
    ['[IPv6:64:ff9b::192.0.2.1]', 6, '64:ff9b::c000:201'],
    ['[IPv6:1:2:3:4:5:6:192.0.2.1]', 6, '1:2:3:4:5:6:c000:201'],
    ['[IPv6:1:2:3:4::192.0.2.1]', 6, '1:2:3:4::c000:201'],
    ['[IPv6:::192.0.2.1]', 6, '::c000:201'],
  ] as const)('%s', (literal, family, address) => {
    const m = mailbox(`<u@${literal}>`);
    expect(m.addressLiteral).toEqual({ family, address });
    expect(m.domain).toBe(family === 6 ? `[ipv6:${address}]` : `[${address}]`);
  });

  it.each([
    '[300.1.1.1]',
    '[256.0.0.0]',
    '[1.2.3]',
    '[1.2.3.4.5]',
    '[1.2.3.]',
    '[1234.1.1.1]',
    '[1..2.3]',
    '[ 1.2.3.4]',
    '[1.2.3.4',
    '[]',
    '[IPv6:]',
    '[IPv6:1::2::3]',
    '[IPv6::::1]',
    '[IPv6:1:2:3:4:5:6:7]',
    '[IPv6:1:2:3:4:5:6:7:8:9]',
    '[IPv6:1:2:3:4:5:6:7::]',
    '[IPv6:::1:2:3:4:5:6:7]',
    '[IPv6:12345::1]',
    '[IPv6:g::1]',
    '[IPv6::1]',
    '[IPv6:1:]',
    '[IPv6:1::2:]',
    '[IPv6:1.2.3.4::]',
    '[IPv6:::1.2.3]',
    '[IPv6:::300.1.1.1]',
    '[IPv6:1:2:3:4:5::1.2.3.4]',
    '[IPv6:1:2:3:4:5:6:7:1.2.3.4]',
    '[IPv6:1:2:3:4:5:1.2.3.4]',
    '[IPv6 ::1]',
    '[x-tag:foo]',
    '[IPv4:1.2.3.4]',
    '[example.com]',
  ])('refuses %s as syntax', (literal) => {
    expect(error(`<u@${literal}>`)).toBe('syntax');
  });
});

describe('parsePath: syntax errors', () => {
  it.each([
    '',
    '<',
    '<<a@b.org>>',
    'a@b.org',
    ' <a@b.org>',
    '<a@b.org',
    '<a@b.org ',
    '<a.@x.org>',
    '<.a@x.org>',
    '<a..b@x.org>',
    '<a b@x.org>',
    '<a(b)@x.org>',
    '<a,b@x.org>',
    '<a[b@x.org>',
    '<@x.org>',
    '<a@>',
    '<a>',
    '<a@x..org>',
    '<a@.x.org>',
    '<a@x.org.>',
    '<a@-x.org>',
    '<a@x-.org>',
    '<a@x.-org>',
    '<a@x_y.org>',
    '<a@x org>',
    '<a@x.123>',
    '<a@192.0.2.1>',
    '<a@123>',
    `<a@${'x'.repeat(64)}.org>`,
    '<a@b@c.org>',
    '<"unterminated@x.org>',
    '<"a"b@x.org>',
    '<a"b"@x.org>',
    '<"a"."b"@x.org>',
    '<"a\\é"@x.org>',
    '<"a\tb"@x.org>',
    '<a\u0000b@x.org>',
    '<a@x.org\r\n>',
    '<"a\rb"@x.org>',
    '<"a\nb"@x.org>',
    '<a\u007fb@x.org>',
    '<a\u0085b@x.org>',
    '<"a\u0085b"@x.org>',
    '<a@x\u0085.org>',
    '<a\ud800b@x.org>',
    '<a\udc00@x.org>',
    '<@a,b:c@d.org>',
    '<@a.org:@b.org:c@d.org>',
    '<@:a@b.org>',
    '<@a.org>',
    '<@a.org,:c@d.org>',
    '<@[1.2.3.4]:a@b.org>',
    '<@a.org;c@d.org>',
    '<@a..org:c@d.org>',
  ])('%j', (text) => {
    expect(error(text, FORWARD_UTF8)).toBe('syntax');
    expect(error(text, { ...REVERSE, utf8Allowed: true })).toBe('syntax');
  });
});

describe('parsePath: UTF-8 (RFC 6531)', () => {
  it.each([
    ['<jörg@example.de>', 'jörg', 'example.de'],
    ['<user@exämple.de>', 'user', 'exämple.de'],
    ['<"jö rg"@x.org>', 'jö rg', 'x.org'],
    ['<中文@中文.中国>', '中文', '中文.中国'],
    ['<😀@x.org>', '😀', 'x.org'],
    ['<a@ÄB.De>', 'a', 'Äb.de'],
  ])(
    'accepts %s with SMTPUTF8 and lower-cases only ASCII letters of the domain',
    (text, lp, domain) => {
      const m = mailbox(text, FORWARD_UTF8);
      expect(m).toMatchObject({ localPart: lp, domain, utf8: true });
      expect(error(text, FORWARD)).toBe('utf8-not-allowed');
    },
  );

  it('needs SMTPUTF8 for a UTF-8 route domain too', () => {
    const text = '<@exämple.de:a@b.org>';
    expect(error(text, FORWARD)).toBe('utf8-not-allowed');
    const p = ok(text, FORWARD_UTF8);
    expect(p.route).toEqual(['exämple.de']);
    expect(p.mailbox?.utf8).toBe(false);
  });
});

describe('parsePath: limits (RFC 5321 §4.5.3.1)', () => {
  const roomy: SmtpLimits = { ...DEFAULT_LIMITS, path: 10_000 };
  const opts = (limits: SmtpLimits, utf8Allowed = false): PathOptions => ({
    kind: 'forward',
    utf8Allowed,
    limits,
  });
  const domain255 = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(63)].join('.');

  it.each([
    ['a 64-octet local part', `<${'a'.repeat(64)}@x.org>`, 'ok'],
    ['a 65-octet local part', `<${'a'.repeat(65)}@x.org>`, 'local-part-too-long'],
    ['a 64-octet quoted local part', `<"${'a'.repeat(62)}"@x.org>`, 'ok'],
    ['a 65-octet quoted local part', `<"${'a'.repeat(63)}"@x.org>`, 'local-part-too-long'],
    ['a 64-octet local part with escapes', `<"${'\\a'.repeat(31)}"@x.org>`, 'ok'],
    ['a 66-octet local part with escapes', `<"${'\\a'.repeat(32)}"@x.org>`, 'local-part-too-long'],
    ['a 255-octet domain', `<a@${domain255}>`, 'ok'],
    ['a 256-octet domain', `<a@${domain255}e>`, 'syntax'], // the last label would be 64
    ['a 257-octet domain', `<a@x.${domain255}>`, 'domain-too-long'],
    ['a 257-octet route domain', `<@x.${domain255}:a@x.org>`, 'domain-too-long'],
  ] as const)('%s', (_name, text, expected) => {
    expect(error(text, opts(roomy))).toBe(expected);
  });

  it('counts UTF-8 octets, not characters', () => {
    const o = opts(roomy, true);
    expect(error(`<${'é'.repeat(32)}@x.org>`, o)).toBe('ok');
    expect(error(`<${'é'.repeat(32)}a@x.org>`, o)).toBe('local-part-too-long');
    expect(error(`<${'😀'.repeat(16)}@x.org>`, o)).toBe('ok');
    expect(error(`<${'😀'.repeat(16)}a@x.org>`, o)).toBe('local-part-too-long');
    const d = `${'é'.repeat(100)}.${'a'.repeat(53)}`; // 254 octets
    expect(error(`<a@${d}>`, o)).toBe('ok');
    expect(error(`<a@${d}b>`, o)).toBe('ok');
    expect(error(`<a@${d}bc>`, o)).toBe('domain-too-long');
  });

  it('counts the whole path with its angle brackets, at the default 256', () => {
    const lp = 'a'.repeat(64);
    const domainOf = (n: number) => `${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(n - 128)}`;
    const at256 = `<${lp}@${domainOf(189)}>`;
    expect(Buffer.byteLength(at256)).toBe(256);
    expect(error(at256)).toBe('ok');
    expect(error(`<${lp}@${domainOf(190)}>`)).toBe('path-too-long');
    expect(error(`<@${'r'.repeat(60)}:${lp}@${domainOf(189)}>`)).toBe('path-too-long');
    const utf8At256 = `<${'é'.repeat(32)}@${domainOf(189)}>`;
    expect(Buffer.byteLength(utf8At256)).toBe(256);
    expect(error(utf8At256, opts(DEFAULT_LIMITS, true))).toBe('ok');
    expect(error(`<${'é'.repeat(32)}@${domainOf(189)}x>`, opts(DEFAULT_LIMITS, true))).toBe(
      'path-too-long',
    );
  });

  it('applies the limits it is given, and reports them before UTF-8', () => {
    const small: SmtpLimits = { ...DEFAULT_LIMITS, localPart: 3, domain: 5, path: 12 };
    expect(error('<abc@x.org>', opts(small))).toBe('ok');
    expect(error('<abcd@x.org>', opts(small))).toBe('local-part-too-long');
    expect(error('<a@xy.org>', opts(small))).toBe('domain-too-long');
    expect(error('<abc@xy.orgg>', opts({ ...small, domain: 7 }))).toBe('path-too-long');
    expect(error('<jörg@x.org>', opts(small))).toBe('local-part-too-long');
    expect(error('<<a@b.org>', opts(small))).toBe('syntax');
    expect(
      error('<>', { kind: 'reverse', utf8Allowed: false, limits: { ...small, path: 1 } }),
    ).toBe('path-too-long');
  });
});

describe('formatPath and formatMailbox', () => {
  const m = (localPart: string, domain: string | null, extra: Partial<Mailbox> = {}): Mailbox => ({
    localPart,
    quoted: false,
    domain,
    addressLiteral: null,
    utf8: false,
    ...extra,
  });

  it.each([
    [{ route: [], mailbox: null, raw: '' }, '<>'],
    [{ route: [], mailbox: m('postmaster', null), raw: 'postmaster' }, '<postmaster>'],
    [{ route: ['a', 'b'], mailbox: m('user', 'c'), raw: '' }, '<@a,@b:user@c>'],
    [{ route: [], mailbox: m('a.b', 'x.org'), raw: '' }, '<a.b@x.org>'],
    [{ route: [], mailbox: m('john smith', 'x.org'), raw: '' }, '<"john smith"@x.org>'],
    [{ route: [], mailbox: m('a"b\\c', 'x.org'), raw: '' }, '<"a\\"b\\\\c"@x.org>'],
    [{ route: [], mailbox: m('', 'x.org'), raw: '' }, '<""@x.org>'],
    [{ route: [], mailbox: m('a..b', 'x.org'), raw: '' }, '<"a..b"@x.org>'],
    [{ route: [], mailbox: m('jörg', 'exämple.de'), raw: '' }, '<jörg@exämple.de>'],
  ] as [Path, string][])('%j', (path, wire) => {
    expect(formatPath(path)).toBe(wire);
  });

  it('writes address literals with the RFC spelling "IPv6:"', () => {
    const v6 = m('u', '[ipv6:2001:db8::1]', {
      addressLiteral: { family: 6, address: '2001:db8::1' },
    });
    expect(formatMailbox(v6)).toBe('u@[IPv6:2001:db8::1]');
    const v4 = m('u', '[192.0.2.1]', { addressLiteral: { family: 4, address: '192.0.2.1' } });
    expect(formatMailbox(v4)).toBe('u@[192.0.2.1]');
  });

  it('writes the canonical form of what it parsed, never longer than the original', () => {
    for (const text of [
      '<"abc"@X.Org>',
      '<"a\\ b"@x.org>',
      '<"a\\b"@x.org>',
      '<@A.org:u@[IPv6:0:0::1]>',
    ]) {
      const p = ok(text);
      const canonical = formatPath(p);
      expect(canonical.length).toBeLessThanOrEqual(text.length);
      const again = ok(canonical);
      expect(formatPath(again)).toBe(canonical);
      expect(again.mailbox?.localPart).toBe(p.mailbox?.localPart);
      expect(again.mailbox?.domain).toBe(p.mailbox?.domain);
    }
    expect(formatPath(ok('<"abc"@X.Org>'))).toBe('<abc@x.org>');
    expect(formatPath(ok('<"a\\ b"@x.org>'))).toBe('<"a b"@x.org>');
  });

  it('refuses to write a control character or a lone surrogate', () => {
    for (const localPart of ['a\r\nRCPT TO:<b@c>', 'a\u0000', 'a\u0085', 'a\ud800']) {
      expect(() => formatPath({ route: [], mailbox: m(localPart, 'x.org'), raw: '' })).toThrow(
        RangeError,
      );
    }
    expect(() => formatMailbox(m('a', 'x.org\r\n'))).toThrow(RangeError);
    expect(() => formatPath({ route: ['a\nb'], mailbox: m('a', 'x.org'), raw: '' })).toThrow(
      RangeError,
    );
  });
});

describe('parsePath properties', () => {
  for (const kind of ['reverse', 'forward'] as const) {
    for (const utf8 of [false, true]) {
      it(`generated valid ${kind}-paths${utf8 ? ' with UTF-8' : ''} survive formatPath → parsePath`, () => {
        fc.assert(
          fc.property(pathArb({ kind, utf8 }), (path) => {
            const wire = formatPath(path);
            const r = parsePath(wire, { kind, utf8Allowed: utf8, limits: ROOMY_LIMITS });
            expect(r).toEqual({ ok: true, path, rest: '' });
          }),
          { numRuns: 10_000 },
        );
      });
    }
  }

  it('parses non-canonical spellings to the same path, and formats them no longer', () => {
    const expand = (v6: string): number[] => {
      const [head = '', tail] = v6.split('::');
      const h = head === '' ? [] : head.split(':').map((x) => parseInt(x, 16));
      if (tail === undefined) return h;
      const t = tail === '' ? [] : tail.split(':').map((x) => parseInt(x, 16));
      return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
    };
    const arb = fc.record({
      path: pathArb({ kind: 'forward', utf8: true }),
      quote: fc.boolean(),
      upper: fc.boolean(),
      literal: fc.constantFrom('full', 'mixed'),
    });
    fc.assert(
      fc.property(arb, ({ path, quote, upper, literal }) => {
        const m = path.mailbox;
        if (m === null || m.domain === null) return;
        const local = quote
          ? `"${[...m.localPart].map((ch) => (ch < '\u0080' ? `\\${ch}` : ch)).join('')}"`
          : formatMailbox({ ...m, domain: null });
        const asciiUpper = (d: string) => d.replace(/[a-z]/g, (c) => c.toUpperCase());
        let domain = upper ? asciiUpper(m.domain) : m.domain;
        const lit = m.addressLiteral;
        if (lit?.family === 4) {
          domain = `[${lit.address
            .split('.')
            .map((o) => o.padStart(3, '0'))
            .join('.')}]`;
        } else if (lit?.family === 6) {
          const g = expand(lit.address).map((x) => x.toString(16).padStart(4, '0'));
          const tail = expand(lit.address).slice(6);
          domain =
            literal === 'full'
              ? `[IPv6:${g.join(':')}]`
              : `[IPv6:${g.slice(0, 6).join(':')}:${tail[0]! >> 8}.${tail[0]! & 255}.${tail[1]! >> 8}.${tail[1]! & 255}]`;
        }
        const route = path.route.map((d) => `@${upper ? asciiUpper(d) : d}`).join(',');
        const written = `<${route === '' ? '' : `${route}:`}${local}@${domain}>`;
        const r = parsePath(written, { kind: 'forward', utf8Allowed: true, limits: ROOMY_LIMITS });
        expect(r).toEqual({
          ok: true,
          path: {
            ...path,
            mailbox: { ...m, quoted: quote || m.quoted },
            raw: written.slice(1, -1),
          },
          rest: '',
        });
        if (r.ok) {
          expect(Buffer.byteLength(formatPath(r.path))).toBeLessThanOrEqual(
            Buffer.byteLength(written),
          );
          expect(formatPath(r.path)).toBe(formatPath(path));
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it('never throws, and keeps control characters out of every parsed path', () => {
    const alphabet = fc.constantFrom(
      ...'<>@.,:"\\[]aZ0-_ +=%!éΩ😀\u0000\r\n\t\u0085\ud800'.split(''),
      'IPv6:',
      '::',
      '1.2.3.4',
      'postmaster',
    );
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.array(alphabet, { maxLength: 60 }).map((a) => `<${a.join('')}`),
    );
    const options = fc.record({
      kind: fc.constantFrom('reverse' as const, 'forward' as const),
      utf8Allowed: fc.boolean(),
      limits: fc.constantFrom(DEFAULT_LIMITS, ROOMY_LIMITS),
    });
    fc.assert(
      fc.property(text, options, (t, o) => {
        const r = parsePath(t, o);
        if (r.ok) {
          for (const str of strings(r.path)) {
            // eslint-disable-next-line no-control-regex -- asserting their absence
            expect(str).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
            expect(str.isWellFormed()).toBe(true);
          }
          // the canonical form is never longer than what was parsed
          const parsed = t.slice(0, t.length - r.rest.length);
          expect(Buffer.byteLength(formatPath(r.path))).toBeLessThanOrEqual(
            Buffer.byteLength(parsed),
          );
        } else {
          expect([
            'syntax',
            'path-too-long',
            'local-part-too-long',
            'domain-too-long',
            'utf8-not-allowed',
          ]).toContain(r.error);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
