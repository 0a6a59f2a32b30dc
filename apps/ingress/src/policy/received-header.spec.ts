import { describe, expect, it } from 'vitest';
import {
  countReceivedHeaders,
  receivedHeader,
  receivedProtocol,
  type ReceivedInput,
} from './received-header.js';

// Tuesday, 1 July 2025, 12:34:56.789 UTC.
const DATE = new Date(Date.UTC(2025, 6, 1, 12, 34, 56, 789));

const BASE: ReceivedInput = {
  heloVerb: 'EHLO',
  heloName: 'client.example',
  clientAddress: '192.0.2.1',
  hostname: 'mx.example',
  protocol: 'ESMTP',
  id: '01J9Z3ABC',
  recipient: 'user@example.test',
  date: DATE,
};

function header(overrides: Partial<ReceivedInput>): string {
  return receivedHeader({ ...BASE, ...overrides });
}

function expectWellFormed(text: string): void {
  expect(text.endsWith('\r\n')).toBe(true);
  const lines = text.slice(0, -2).split('\r\n');
  expect(lines[0]).toMatch(/^Received: from /);
  for (const line of lines) {
    expect(Buffer.byteLength(line) + 2).toBeLessThan(998);
    expect(line).not.toMatch(/[\r\n]/);
    // eslint-disable-next-line no-control-regex
    expect(line.replace(/^\t/, '')).not.toMatch(/[\u0000-\u001f\u007f-\uffff]/);
  }
  for (const line of lines.slice(1)) expect(line.startsWith('\t')).toBe(true);
}

describe('receivedHeader', () => {
  it('writes the trace header of RFC 5321 §4.4', () => {
    const text = header({});
    expect(text).toBe(
      'Received: from client.example ([192.0.2.1])\r\n' +
        '\tby mx.example (Petrel) with ESMTP id 01J9Z3ABC\r\n' +
        '\tfor <user@example.test>; Tue, 1 Jul 2025 12:34:56 +0000\r\n',
    );
    expectWellFormed(text);
  });

  it('leaves "for" out without exactly one recipient; the date follows the id', () => {
    expect(header({ recipient: null })).toBe(
      'Received: from client.example ([192.0.2.1])\r\n' +
        '\tby mx.example (Petrel) with ESMTP id 01J9Z3ABC;\r\n' +
        '\tTue, 1 Jul 2025 12:34:56 +0000\r\n',
    );
  });

  it('names the TLS protocol and cipher in a comment', () => {
    const text = header({
      protocol: 'ESMTPSA',
      tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
    });
    expect(text).toBe(
      'Received: from client.example ([192.0.2.1])\r\n' +
        '\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n' +
        '\tby mx.example (Petrel) with ESMTPSA id 01J9Z3ABC\r\n' +
        '\tfor <user@example.test>; Tue, 1 Jul 2025 12:34:56 +0000\r\n',
    );
    expectWellFormed(text);
  });

  // [client address, what "from" shows]
  it.each([
    ['192.0.2.1', 'from client.example ([192.0.2.1])'],
    ['2001:db8::1', 'from client.example ([IPv6:2001:db8::1])'],
    ['2001:DB8:0:0:0:0:0:1', 'from client.example ([IPv6:2001:db8::1])'],
    ['::1', 'from client.example ([IPv6:::1])'],
    ['::ffff:192.0.2.1', 'from client.example ([192.0.2.1])'],
    ['fe80::1%eth0', 'from client.example ([IPv6:fe80::1])'],
    ['', 'from client.example\r\n'],
    ['/run/petrel.sock', 'from client.example\r\n'],
  ])('client %j', (clientAddress, from) => {
    const text = header({ clientAddress });
    expect(text).toContain(from);
    expectWellFormed(text);
  });

  // [HELO verb, HELO name, what "from" shows]
  it.each([
    ['EHLO', 'Client.Example', 'from Client.Example ([192.0.2.1])\r\n'],
    ['HELO', 'localhost', 'from localhost ([192.0.2.1])\r\n'],
    ['EHLO', '[192.0.2.1]', 'from [192.0.2.1] ([192.0.2.1])\r\n'],
    ['EHLO', '[IPv6:2001:DB8::1]', 'from [IPv6:2001:db8::1] ([192.0.2.1])\r\n'],
    ['EHLO', '[ipv6:2001:db8::1]', 'from [IPv6:2001:db8::1] ([192.0.2.1])\r\n'],
    [null, null, 'from [192.0.2.1] ([192.0.2.1])\r\n'],
    ['EHLO', 'my_laptop', 'from [192.0.2.1] ([192.0.2.1]) (EHLO my_laptop)\r\n'],
    ['HELO', 'client.example.', 'from [192.0.2.1] ([192.0.2.1]) (HELO client.example.)\r\n'],
    ['HELO', '192.0.2.1', 'from [192.0.2.1] ([192.0.2.1]) (HELO 192.0.2.1)\r\n'],
    ['EHLO', '[192.0.2.256]', 'from [192.0.2.1] ([192.0.2.1]) (EHLO [192.0.2.256])\r\n'],
    ['EHLO', 'a (b) c\\d', 'from [192.0.2.1] ([192.0.2.1]) (EHLO a??b??c?d)\r\n'],
    [
      'EHLO',
      'evil\r\nX-Injected: yes',
      'from [192.0.2.1] ([192.0.2.1]) (EHLO evil??X-Injected:?yes)\r\n',
    ],
    ['EHLO', 'bad\nBcc: x@y', 'from [192.0.2.1] ([192.0.2.1]) (EHLO bad?Bcc:?x@y)\r\n'],
    ['EHLO', 'nul\0here', 'from [192.0.2.1] ([192.0.2.1]) (EHLO nul?here)\r\n'],
    ['EHLO', 'bücher.example', 'from [192.0.2.1] ([192.0.2.1]) (EHLO b?cher.example)\r\n'],
    [
      'EHLO',
      `${'a'.repeat(63)}.${'b'.repeat(63)}.example`,
      `from ${'a'.repeat(63)}.${'b'.repeat(63)}.example ([192.0.2.1])\r\n`,
    ],
    ['EHLO', 'x'.repeat(200), `from [192.0.2.1] ([192.0.2.1]) (EHLO ${'x'.repeat(61)}...)\r\n`],
  ] as const)('%s %j', (heloVerb, heloName, from) => {
    const text = header({ heloVerb, heloName });
    expect(text.split('\r\n')[0] + '\r\n').toBe(`Received: ${from}`);
    expectWellFormed(text);
  });

  // [recipient, the "for" line, or null when left out]
  it.each([
    ['user@example.test', '\tfor <user@example.test>; Tue, 1 Jul 2025 12:34:56 +0000'],
    [
      '"john smith"@example.test',
      '\tfor <"john smith"@example.test>; Tue, 1 Jul 2025 12:34:56 +0000',
    ],
    ['postmaster', '\tfor <postmaster>; Tue, 1 Jul 2025 12:34:56 +0000'],
    ['user@[IPv6:2001:db8::1]', '\tfor <user@[IPv6:2001:db8::1]>; Tue, 1 Jul 2025 12:34:56 +0000'],
    ['a\r\nBcc: x@y', null],
    ['üser@example.test', null],
    ['', null],
    ['x'.repeat(600), null],
  ])('recipient %j', (recipient, line) => {
    const text = header({ recipient });
    const lines = text.split('\r\n');
    if (line === null) {
      expect(text).not.toContain('for <');
      expect(lines).toContain('\tTue, 1 Jul 2025 12:34:56 +0000');
    } else {
      expect(lines).toContain(line);
    }
    expectWellFormed(text);
  });

  it('sanitises the TLS names and keeps lines short', () => {
    const text = header({ tls: { protocol: 'TLS\r\nv1.3', cipher: `(${'C'.repeat(2000)})` } });
    expect(text.split('\r\n')[1]).toBe(`\t(using TLS??v1.3 with cipher ?${'C'.repeat(60)}...)`);
    expectWellFormed(text);
  });

  it('stays well-formed at every field’s limit', () => {
    const longest = `${'a'.repeat(63)}.`.repeat(3) + 'b'.repeat(63);
    const text = header({
      heloName: longest,
      clientAddress: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      hostname: longest,
      id: 'I'.repeat(128),
      recipient: `${'l'.repeat(64)}@${longest}`,
      tls: { protocol: 'p'.repeat(500), cipher: 'c'.repeat(500) },
      protocol: 'ESMTPSA',
    });
    expect(longest).toHaveLength(255);
    expectWellFormed(text);
  });

  // RFC 5322 §3.3: day-of-week "," day month year time zone.
  it.each([
    [Date.UTC(2025, 6, 1, 12, 34, 56), 'Tue, 1 Jul 2025 12:34:56 +0000'],
    [Date.UTC(2024, 1, 29, 0, 0, 0), 'Thu, 29 Feb 2024 00:00:00 +0000'],
    [Date.UTC(1999, 11, 31, 23, 59, 59, 999), 'Fri, 31 Dec 1999 23:59:59 +0000'],
    [Date.UTC(2038, 0, 19, 3, 14, 8), 'Tue, 19 Jan 2038 03:14:08 +0000'],
    [Date.UTC(2026, 4, 10, 9, 5, 7), 'Sun, 10 May 2026 09:05:07 +0000'],
  ])('dates %d as %s', (ms, text) => {
    expect(header({ date: new Date(ms) })).toContain(`; ${text}\r\n`);
  });

  it('refuses a hostname, id or date of ours that would break the header', () => {
    expect(() => header({ hostname: 'mx.example\r\nX: y' })).toThrow(RangeError);
    expect(() => header({ hostname: 'mx.example.' })).toThrow(RangeError);
    expect(() => header({ hostname: '' })).toThrow(RangeError);
    expect(() => header({ id: 'a b' })).toThrow(RangeError);
    expect(() => header({ id: 'a;b' })).toThrow(RangeError);
    expect(() => header({ id: '' })).toThrow(RangeError);
    expect(() => header({ date: new Date(Number.NaN) })).toThrow(RangeError);
  });
});

describe('receivedProtocol (RFC 3848)', () => {
  // [EHLO, TLS, AUTH, protocol]
  it.each([
    [false, false, false, 'SMTP'],
    [true, false, false, 'ESMTP'],
    [true, true, false, 'ESMTPS'],
    [true, false, true, 'ESMTPA'],
    [true, true, true, 'ESMTPSA'],
    [false, true, false, 'ESMTPS'], // HELO again after STARTTLS
    [false, true, true, 'ESMTPSA'],
    [false, false, true, 'ESMTPA'],
  ])('extended %s, tls %s, authenticated %s: %s', (extended, tls, auth, protocol) => {
    expect(receivedProtocol(extended, tls, auth)).toBe(protocol);
  });
});

describe('countReceivedHeaders', () => {
  const msg = (text: string) => [Buffer.from(text, 'latin1')];

  // [message, count]
  it.each([
    ['Received: a\r\nReceived: b\r\nSubject: x\r\n\r\nbody\r\n', 2],
    ['received: a\r\nRECEIVED: b\r\nReCeIvEd: c\r\n\r\n', 3],
    ['Received : obsolete space\r\nReceived\t: tab\r\n\r\n', 2],
    ['Received: a\r\n\tfrom x\r\n Received: continuation\r\n\r\n', 1],
    ['Received: a\r\n\r\nReceived: in the body\r\nReceived: again\r\n', 1],
    ['Subject: x\r\n\r\nReceived: body only\r\n', 0],
    ['\r\nReceived: body\r\n', 0],
    ['Received: bare LF\nReceived: b\n\nReceived: body\n', 2],
    [
      'Received-SPF: pass\r\nReceivedX: no\r\nReceive: no\r\nX-Received: no\r\nReceived\r\nReceived x: no\r\n\r\n',
      0,
    ],
    ['Subject: Received: not at a line start\r\n\r\n', 0],
    ['Received: no blank line, headers only', 1],
    ['Received: a\r\nReceived: b', 2],
    ['', 0],
    ['Received: a\r\n\r\r\nReceived: after a CR CR LF line, still headers\r\n\r\n', 2],
  ])('%j: %d', (text, count) => {
    expect(countReceivedHeaders(msg(text), 100)).toBe(count);
  });

  it('counts across slice boundaries, split at every octet', () => {
    const text =
      'Received: from a\r\n\tby b\r\nreceived : c\r\nDKIM-Signature: x;\r\n Received: fake\r\nRECEIVED: d\n\r\nReceived: body\r\n';
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(
        countReceivedHeaders([bytes.subarray(0, cut), bytes.subarray(cut)], 100),
        `cut at ${cut}`,
      ).toBe(3);
    }
    for (let a = 0; a <= bytes.length; a += 3) {
      for (let b = a; b <= bytes.length; b += 5) {
        const slices = [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)];
        expect(countReceivedHeaders(slices, 100), `cuts at ${a}, ${b}`).toBe(3);
      }
    }
    const oneByOne = Array.from(bytes, (x) => Buffer.from([x]));
    expect(countReceivedHeaders(oneByOne, 100)).toBe(3);
  });

  it('finds the end of the header section across a boundary between CR and LF', () => {
    expect(
      countReceivedHeaders(
        [Buffer.from('Received: a\r\n\r'), Buffer.from('\nReceived: b\r\n')],
        100,
      ),
    ).toBe(1);
    expect(
      countReceivedHeaders(
        [Buffer.from('Received: a\r\n'), Buffer.from('\r\nReceived: b\r\n')],
        100,
      ),
    ).toBe(1);
  });

  it('stops once the count passes stopAfter', () => {
    const many = msg('Received: x\r\n'.repeat(500) + '\r\n');
    expect(countReceivedHeaders(many, 100)).toBe(101);
    expect(countReceivedHeaders(many, 0)).toBe(1);
    expect(countReceivedHeaders(many, 499)).toBe(500);
    expect(countReceivedHeaders(many, 500)).toBe(500);
  });

  it('handles a long header section quickly', () => {
    const big = [
      Buffer.from(`X-Long: ${'y'.repeat(5_000_000)}\r\n` + 'Received: x\r\n'.repeat(50) + '\r\n'),
    ];
    const started = performance.now();
    expect(countReceivedHeaders(big, 100)).toBe(50);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
