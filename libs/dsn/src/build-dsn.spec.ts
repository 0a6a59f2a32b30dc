import { simpleParser, type ParsedMail } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { field, parseWithPython, type PythonMessage } from '../test/support/python-email.js';
import { FAILED_BOB, input, lines, onlyCrlf, ORIGINAL, utc } from '../test/support/fixtures.js';
import { buildDsn, DsnError, type Dsn, type DsnInput, type DsnRecipient } from './index.js';

const HEADER_SECTION = ORIGINAL.slice(0, ORIGINAL.indexOf('\r\n\r\n') + 4);

/** Builds the DSN and checks what must hold for every one: line ends, lengths, flags. */
function build(overrides: Partial<DsnInput> = {}): Dsn {
  const dsn = buildDsn(input(overrides));
  const bytes = dsn.bytes;
  expect(onlyCrlf(bytes)).toBe(true);
  expect(bytes.subarray(-2).toString('latin1')).toBe('\r\n');
  for (const line of lines(bytes)) expect(line.length).toBeLessThanOrEqual(998);
  expect(dsn.eightBit).toBe(bytes.some((b) => b > 0x7f));
  return dsn;
}

async function both(dsn: Dsn): Promise<{ py: PythonMessage; mp: ParsedMail }> {
  const py = parseWithPython(dsn.bytes);
  expect(py.defects).toEqual([]);
  for (const part of py.parts) expect(part.defects).toEqual([]);
  const mp = await simpleParser(dsn.bytes);
  return { py, mp };
}

/** The header section of the DSN itself, as raw lines. */
function headerLines(dsn: Dsn): string[] {
  const text = dsn.bytes.toString('utf8');
  return text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');
}

const words = (s: string): string => s.replace(/\s+/g, ' ').trim();

describe('buildDsn: one failed recipient, smtp diagnostic and Remote-MTA', () => {
  it('is a multipart/report that both parsers read the same way', async () => {
    const dsn = build();
    expect(dsn).toMatchObject({ eightBit: false, utf8: false });
    const { py, mp } = await both(dsn);

    expect(py.contentType).toBe('multipart/report');
    expect(py.params).toEqual({
      'report-type': 'delivery-status',
      boundary: 'Q7K2M9.1/mx.petrel.test',
    });
    expect(field(py.fields, 'From')).toBe('Mail Delivery System <MAILER-DAEMON@mx.petrel.test>');
    expect(field(py.fields, 'To')).toBe('alice@example.org');
    expect(field(py.fields, 'Subject')).toBe('Undelivered Mail Returned to Sender');
    expect(field(py.fields, 'Date')).toBe('Tue, 01 Jul 2025 09:05:31 +0000');
    expect(field(py.fields, 'Message-ID')).toBe('<Q7K2M9.1@mx.petrel.test>');
    expect(field(py.fields, 'MIME-Version')).toBe('1.0');
    expect(field(py.fields, 'Auto-Submitted')).toBe('auto-replied');
    expect(py.parts.map((p) => p.contentType)).toEqual([
      'text/plain',
      'message/delivery-status',
      'text/rfc822-headers',
    ]);

    const [text, status, headers] = py.parts;
    expect(text!.params).toEqual({ charset: 'us-ascii' });
    expect(words(text!.text!)).toContain(
      '<bob@example.net>: host mx.example.net said: 550 5.1.1 <bob@example.net>: No such user',
    );
    expect(words(text!.text!)).toContain('quote the queue ID Q7K2M9');
    expect(status!.groups).toEqual([
      [
        ['Reporting-MTA', 'dns; mx.petrel.test'],
        ['Arrival-Date', 'Tue, 01 Jul 2025 09:05:03 +0000'],
        ['X-Petrel-Queue-ID', 'Q7K2M9'],
      ],
      [
        ['Final-Recipient', 'rfc822; bob@example.net'],
        ['Action', 'failed'],
        ['Status', '5.1.1'],
        ['Remote-MTA', 'dns; mx.example.net'],
        ['Diagnostic-Code', 'smtp; 550 5.1.1 <bob@example.net>: No such user'],
        ['Last-Attempt-Date', 'Tue, 01 Jul 2025 09:05:30 +0000'],
      ],
    ]);
    expect(field(headers!.fields, 'Content-Description')).toBe('Undelivered Message Headers');
    expect(headers!.text).toBe(HEADER_SECTION);

    expect(mp.subject).toBe('Undelivered Mail Returned to Sender');
    expect(mp.from?.value).toEqual([
      { address: 'MAILER-DAEMON@mx.petrel.test', name: 'Mail Delivery System' },
    ]);
    expect(mp.to).toMatchObject({ value: [{ address: 'alice@example.org' }] });
    expect(mp.date?.toISOString()).toBe('2025-07-01T09:05:31.000Z');
    expect(mp.messageId).toBe('<Q7K2M9.1@mx.petrel.test>');
    expect(mp.headers.get('auto-submitted')).toBe('auto-replied');
    expect(mp.headers.get('content-type')).toMatchObject({
      value: 'multipart/report',
      params: { 'report-type': 'delivery-status', boundary: 'Q7K2M9.1/mx.petrel.test' },
    });
    // mailparser shows text/plain and message/delivery-status as the text,
    // and the returned headers as the one attachment.
    expect(mp.text).toContain('This is the mail system at host mx.petrel.test.');
    expect(mp.text).toContain('Final-Recipient: rfc822; bob@example.net');
    expect(mp.attachments.map((a) => a.contentType)).toEqual(['text/rfc822-headers']);
    expect(mp.attachments[0]!.content.toString('utf8')).toBe(HEADER_SECTION);
  });

  it('keeps every header line and every delivery-status line within 78 octets', () => {
    const dsn = build();
    for (const line of headerLines(dsn)) expect(line.length).toBeLessThanOrEqual(78);
    for (const line of lines(dsn.bytes)) {
      if (!HEADER_SECTION.includes(line.toString('latin1'))) {
        expect(line.length).toBeLessThanOrEqual(78);
      }
    }
  });

  it('puts the header fields in order, folding Content-Type before the boundary', () => {
    expect(headerLines(build())).toEqual([
      'From: Mail Delivery System <MAILER-DAEMON@mx.petrel.test>',
      'To: <alice@example.org>',
      'Subject: Undelivered Mail Returned to Sender',
      'Date: Tue, 01 Jul 2025 09:05:31 +0000',
      'Message-ID: <Q7K2M9.1@mx.petrel.test>',
      'MIME-Version: 1.0',
      'Auto-Submitted: auto-replied',
      'Content-Type: multipart/report; report-type=delivery-status;',
      ' boundary="Q7K2M9.1/mx.petrel.test"',
      'Content-Transfer-Encoding: 7bit',
    ]);
  });
});

describe('buildDsn: several recipients', () => {
  const carol: DsnRecipient = {
    finalRecipient: 'carol@example.org',
    action: 'delayed',
    status: '4.4.1',
    remoteMta: 'mx.example.org',
    diagnostic: { type: 'x-petrel', text: 'connect to mx.example.org[192.0.2.7]:25: timed out' },
    lastAttemptDate: utc(2025, 7, 1, 9, 5, 20),
    willRetryUntil: utc(2025, 7, 6, 9, 5, 3),
  };
  const dave: DsnRecipient = {
    finalRecipient: 'dave@example.com',
    action: 'failed',
    status: '5.4.4',
    diagnostic: { type: 'x-petrel', text: 'no MX or address record for example.com' },
  };

  it('reports failed and delayed recipients in one report, groups in input order', async () => {
    const dsn = build({ recipients: [FAILED_BOB, carol, dave] });
    const { py, mp } = await both(dsn);
    expect(field(py.fields, 'Subject')).toBe('Undelivered Mail Returned to Sender');
    const groups = py.parts[1]!.groups!;
    expect(groups).toHaveLength(4);
    expect(groups.slice(1).map((g) => [field(g, 'Final-Recipient'), field(g, 'Action')])).toEqual([
      ['rfc822; bob@example.net', 'failed'],
      ['rfc822; carol@example.org', 'delayed'],
      ['rfc822; dave@example.com', 'failed'],
    ]);
    expect(groups[2]).toEqual([
      ['Final-Recipient', 'rfc822; carol@example.org'],
      ['Action', 'delayed'],
      ['Status', '4.4.1'],
      ['Remote-MTA', 'dns; mx.example.org'],
      ['Diagnostic-Code', 'x-petrel; connect to mx.example.org[192.0.2.7]:25: timed out'],
      ['Last-Attempt-Date', 'Tue, 01 Jul 2025 09:05:20 +0000'],
      ['Will-Retry-Until', 'Sun, 06 Jul 2025 09:05:03 +0000'],
    ]);
    expect(field(groups[3]!, 'Will-Retry-Until')).toBeUndefined();
    expect(field(groups[3]!, 'Remote-MTA')).toBeUndefined();

    // The human text groups recipients by action, failed first.
    const text = words(py.parts[0]!.text!);
    const failedAt = text.indexOf('failed, and the mail system has given up:');
    const delayedAt = text.indexOf('is delayed; the mail system keeps trying:');
    expect(failedAt).toBeGreaterThan(0);
    expect(delayedAt).toBeGreaterThan(failedAt);
    expect(text.indexOf('<dave@example.com>: no MX or address record')).toBeGreaterThan(failedAt);
    expect(text.indexOf('<dave@example.com>:')).toBeLessThan(delayedAt);
    expect(text.slice(delayedAt)).toContain(
      '<carol@example.org>: connect to mx.example.org[192.0.2.7]:25: timed out' +
        ' (the mail system keeps trying until Sun, 06 Jul 2025 09:05:03 +0000)',
    );
    expect(mp.text).toContain('Final-Recipient: rfc822; dave@example.com');
  });

  it('names a delay warning and a success report by their worst action', async () => {
    const delayed = await both(build({ recipients: [carol] }));
    expect(field(delayed.py.fields, 'Subject')).toBe('Delayed Mail (still being retried)');
    expect(delayed.py.parts[0]!.text).toContain('This is a warning only');
    expect(field(delayed.py.parts[2]!.fields, 'Content-Description')).toBe(
      'Undelivered Message Headers',
    );

    const delivered: DsnRecipient = {
      finalRecipient: 'erin@example.net',
      action: 'delivered',
      status: '2.0.0',
    };
    const relayed: DsnRecipient = {
      finalRecipient: 'finn@example.net',
      action: 'relayed',
      status: '2.0.0',
    };
    const success = await both(build({ recipients: [delivered, relayed] }));
    expect(field(success.py.fields, 'Subject')).toBe('Successful Mail Delivery Report');
    expect(success.mp.subject).toBe('Successful Mail Delivery Report');
    expect(field(success.py.parts[2]!.fields, 'Content-Description')).toBe('Message Headers');
    expect(words(success.py.parts[0]!.text!)).toContain(
      '<erin@example.net>: delivered, status 2.0.0 (success, other or undefined status)',
    );

    const mixed = await both(build({ recipients: [delivered, carol] }));
    expect(field(mixed.py.fields, 'Subject')).toBe('Delayed Mail (still being retried)');
  });
});

describe('buildDsn: diagnostics', () => {
  it('writes a local diagnosis as x-petrel, without Remote-MTA', async () => {
    const recipient: DsnRecipient = {
      finalRecipient: 'bob@example.net',
      action: 'failed',
      status: '5.1.2',
      diagnostic: { type: 'x-petrel', text: 'no relay rule routes example.net' },
    };
    const { py } = await both(build({ recipients: [recipient] }));
    expect(py.parts[1]!.groups![1]).toEqual([
      ['Final-Recipient', 'rfc822; bob@example.net'],
      ['Action', 'failed'],
      ['Status', '5.1.2'],
      ['Diagnostic-Code', 'x-petrel; no relay rule routes example.net'],
    ]);
    expect(words(py.parts[0]!.text!)).toContain(
      '<bob@example.net>: no relay rule routes example.net',
    );
  });

  it('describes the status when there is no diagnostic', async () => {
    const recipient: DsnRecipient = {
      finalRecipient: 'bob@example.net',
      action: 'failed',
      status: '5.1.2',
    };
    const { py } = await both(build({ recipients: [recipient] }));
    expect(field(py.parts[1]!.groups![1]!, 'Diagnostic-Code')).toBeUndefined();
    expect(words(py.parts[0]!.text!)).toContain(
      '<bob@example.net>: delivery failed, status 5.1.2 (permanent failure, addressing status)',
    );
  });

  it('folds a long multi-line reply at 78 octets, and unfolds to the lines joined by a space', async () => {
    const reply = [
      '550-5.1.1 The email account that you tried to reach does not exist. Please try',
      "550-5.1.1 double-checking the recipient's email address for typos or",
      '550-5.1.1 unnecessary spaces. For more information, go to',
      '550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1b2c3d4e5 - gsmtp',
    ];
    const recipient: DsnRecipient = { ...FAILED_BOB, diagnostic: { type: 'smtp', text: reply } };
    const dsn = build({ recipients: [recipient] });
    const raw = dsn.bytes.toString('latin1');
    const start = raw.indexOf('Diagnostic-Code: ');
    const folded = raw.slice(start, raw.indexOf('\r\nLast-Attempt-Date', start)).split('\r\n');
    expect(folded.length).toBeGreaterThan(3);
    for (const line of folded) expect(line.length).toBeLessThanOrEqual(78);
    for (const line of folded.slice(1)) expect(line).toMatch(/^ \S/);

    const { py } = await both(dsn);
    expect(field(py.parts[1]!.groups![1]!, 'Diagnostic-Code')).toBe(
      `smtp; ${words(reply.join(' '))}`,
    );
    expect(words(py.parts[0]!.text!)).toContain(
      `host mx.example.net said: ${words(reply.join(' '))}`,
    );
  });

  it('joins a reply given as one string with line breaks, and neutralises control characters', async () => {
    const text =
      '451-4.7.1 Greylisted\r\n451 4.7.1 come back\nlater\rplease\u0000\u001b[31m\u0085 ok';
    const recipient: DsnRecipient = { ...FAILED_BOB, diagnostic: { type: 'smtp', text } };
    const dsn = build({ recipients: [recipient] });
    const { py } = await both(dsn);
    expect(field(py.parts[1]!.groups![1]!, 'Diagnostic-Code')).toBe(
      'smtp; 451-4.7.1 Greylisted 451 4.7.1 come back later please??[31m? ok',
    );
  });

  it('cuts a word too long for any line at 998 octets instead of emitting a longer line', async () => {
    const long = 'x'.repeat(2500);
    const recipient: DsnRecipient = {
      ...FAILED_BOB,
      diagnostic: { type: 'smtp', text: `550 ${long} end` },
    };
    const dsn = build({ recipients: [recipient] });
    const { py } = await both(dsn);
    const value = field(py.parts[1]!.groups![1]!, 'Diagnostic-Code')!;
    expect(value.startsWith('smtp; 550 x')).toBe(true);
    expect(value.endsWith(' end')).toBe(true);
    expect(value.replace(/ /g, '')).toBe(`smtp;550${long}end`);
    expect(lines(dsn.bytes).some((l) => l.length === 998)).toBe(true);
  });

  it('escapes non-ASCII in a reply as \\x{HHHH} in a 7-bit DSN', async () => {
    const recipient: DsnRecipient = {
      ...FAILED_BOB,
      diagnostic: { type: 'smtp', text: '550 5.1.1 Benutzer unbekannt: Jürgen \u{1F4EC}' },
    };
    const dsn = build({ recipients: [recipient] });
    expect(dsn).toMatchObject({ eightBit: false, utf8: false });
    const { py } = await both(dsn);
    expect(field(py.parts[1]!.groups![1]!, 'Diagnostic-Code')).toBe(
      'smtp; 550 5.1.1 Benutzer unbekannt: J\\x{FC}rgen \\x{1F4EC}',
    );
  });
});

describe('buildDsn: addresses', () => {
  it('writes Original-Recipient before Final-Recipient (RFC 3464 §2.3 order)', async () => {
    const recipient: DsnRecipient = { ...FAILED_BOB, originalRecipient: 'team@example.net' };
    const { py } = await both(build({ recipients: [recipient] }));
    const group = py.parts[1]!.groups![1]!;
    expect(group.slice(0, 2)).toEqual([
      ['Original-Recipient', 'rfc822; team@example.net'],
      ['Final-Recipient', 'rfc822; bob@example.net'],
    ]);
    expect(words(py.parts[0]!.text!)).toContain(
      '<bob@example.net> (originally <team@example.net>): host mx.example.net said:',
    );
  });

  it('keeps a quoted local part whole', async () => {
    const recipient: DsnRecipient = { ...FAILED_BOB, finalRecipient: '"bob smith"@example.net' };
    const { py } = await both(build({ recipients: [recipient], to: '"alice jones"@example.org' }));
    expect(field(py.parts[1]!.groups![1]!, 'Final-Recipient')).toBe(
      'rfc822; "bob smith"@example.net',
    );
    expect(field(py.fields, 'To')).toBe('"alice jones"@example.org');
  });

  it('makes a UTF-8 DSN for a non-ASCII recipient: global types, utf-8 address type (RFC 6533)', async () => {
    const recipient: DsnRecipient = {
      ...FAILED_BOB,
      finalRecipient: 'jürgen@bücher.example',
      originalRecipient: '用户@例子.example',
      diagnostic: { type: 'smtp', text: '550 5.1.1 Jürgen unbekannt' },
    };
    const dsn = build({ recipients: [recipient] });
    expect(dsn).toMatchObject({ eightBit: true, utf8: true });
    const { py, mp } = await both(dsn);
    expect(py.params['report-type']).toBe('global-delivery-status');
    expect(py.parts.map((p) => p.contentType)).toEqual([
      'text/plain',
      'message/global-delivery-status',
      'text/rfc822-headers',
    ]);
    expect(py.parts[0]!.params).toEqual({ charset: 'utf-8' });
    expect(field(py.parts[0]!.fields, 'Content-Transfer-Encoding')).toBe('8bit');
    expect(words(py.parts[0]!.text!)).toContain(
      '<jürgen@bücher.example> (originally <用户@例子.example>): host mx.example.net said: 550 5.1.1 Jürgen unbekannt',
    );
    const group = py.parts[1]!.groups![1]!;
    expect(group.slice(0, 2)).toEqual([
      ['Original-Recipient', 'utf-8; 用户@例子.example'],
      ['Final-Recipient', 'utf-8; jürgen@bücher.example'],
    ]);
    expect(field(group, 'Diagnostic-Code')).toBe('smtp; 550 5.1.1 Jürgen unbekannt');
    expect(field(py.fields, 'Content-Transfer-Encoding')).toBe('8bit');
    // mailparser hands the global report out as an attachment, not as text.
    expect(mp.attachments.map((a) => a.contentType)).toEqual([
      'message/global-delivery-status',
      'text/rfc822-headers',
    ]);
    expect(mp.attachments[0]!.content.toString('utf8')).toContain(
      'Final-Recipient: utf-8; jürgen@bücher.example\r\n',
    );
  });

  it('makes a UTF-8 DSN for a non-ASCII reverse-path: To: carries it raw (RFC 6532)', async () => {
    const dsn = build({ to: 'jürgen@bücher.example' });
    expect(dsn).toMatchObject({ eightBit: true, utf8: true });
    const { py, mp } = await both(dsn);
    expect(field(py.fields, 'To')).toBe('jürgen@bücher.example');
    expect(mp.to).toMatchObject({ value: [{ address: 'jürgen@bücher.example' }] });
    expect(py.parts[1]!.contentType).toBe('message/global-delivery-status');
    // The report holds only ASCII addresses: ASCII, so 7bit.
    expect(field(py.parts[1]!.fields, 'Content-Transfer-Encoding')).toBe('7bit');
    expect(field(py.parts[1]!.groups![1]!, 'Final-Recipient')).toBe('rfc822; bob@example.net');
  });
});

describe('buildDsn: the returned original', () => {
  it('returns the whole message as message/rfc822 with RET=FULL', async () => {
    const dsn = build({ returnContent: 'full' });
    expect(dsn.eightBit).toBe(false);
    const { py, mp } = await both(dsn);
    const part = py.parts[2]!;
    expect(part.contentType).toBe('message/rfc822');
    expect(field(part.fields, 'Content-Description')).toBe('Undelivered Message');
    expect(field(part.inner!.fields, 'Subject')).toBe('Lunch');
    expect(field(part.inner!.fields, 'Message-ID')).toBe('<lunch.1@example.org>');
    expect(part.inner!.body).toBe('Shall we meet at noon?\r\n');
    expect(words(py.parts[0]!.text!)).toContain('Your message is attached.');

    expect(mp.attachments.map((a) => a.contentType)).toEqual(['message/rfc822']);
    expect(mp.attachments[0]!.content.toString('utf8')).toBe(ORIGINAL);
    const inner = await simpleParser(mp.attachments[0]!.content);
    expect(inner.subject).toBe('Lunch');
    expect(inner.text).toBe('Shall we meet at noon?\n');
  });

  it('returns an original with an 8-bit body as 8bit; with headers only, the DSN stays 7-bit', async () => {
    const original = Buffer.from(`${HEADER_SECTION}Grüße aus Köln\r\n`, 'utf8');
    const full = build({ returnContent: 'full', original });
    expect(full).toMatchObject({ eightBit: true, utf8: false });
    const { py } = await both(full);
    expect(py.parts[2]!.contentType).toBe('message/rfc822');
    expect(field(py.parts[2]!.fields, 'Content-Transfer-Encoding')).toBe('8bit');
    expect(field(py.fields, 'Content-Transfer-Encoding')).toBe('8bit');
    expect(py.parts[2]!.inner!.body).toBe('Grüße aus Köln\r\n');
    expect(full.bytes.includes(original)).toBe(true);

    const headers = build({ original });
    expect(headers).toMatchObject({ eightBit: false, utf8: false });
    expect(headers.bytes.every((b) => b < 0x80)).toBe(true);
    const parsed = await both(headers);
    expect(parsed.py.parts[2]!.text).toBe(HEADER_SECTION);
  });

  it('returns 8-bit header fields as message/global-headers, or message/global with RET=FULL', async () => {
    const original = Buffer.from(
      'From: Jürgen <j@example.org>\r\nSubject: Grüße\r\n\r\nHallo\r\n',
      'utf8',
    );
    const headers = build({ original });
    expect(headers).toMatchObject({ eightBit: true, utf8: false });
    const h = await both(headers);
    expect(h.py.params['report-type']).toBe('delivery-status');
    expect(h.py.parts[2]!.contentType).toBe('message/global-headers');
    expect(field(h.py.parts[2]!.fields, 'Content-Transfer-Encoding')).toBe('8bit');
    expect(field(h.py.parts[2]!.inner!.fields, 'Subject')).toBe('Grüße');
    expect(h.mp.attachments.map((a) => a.contentType)).toEqual(['message/global-headers']);
    expect(
      h.mp.attachments[0]!.content.equals(original.subarray(0, original.indexOf('Hallo'))),
    ).toBe(true);

    const full = build({ original, returnContent: 'full' });
    const f = await both(full);
    expect(f.py.parts[2]!.contentType).toBe('message/global');
    expect(field(f.py.parts[2]!.inner!.fields, 'Subject')).toBe('Grüße');
    expect(f.py.parts[2]!.inner!.body).toBe('Hallo\r\n');
  });

  it('returns a message without an empty line whole, as its header section', async () => {
    const original = Buffer.from('Subject: no body\r\nFrom: a@example.org\r\n', 'latin1');
    const dsn = build({ original });
    const { py, mp } = await both(dsn);
    expect(py.parts[2]!.text).toBe('Subject: no body\r\nFrom: a@example.org\r\n');
    expect(mp.attachments[0]!.content.equals(original)).toBe(true);
  });

  it('copies an original that ends without CRLF, or is empty, and still ends with CRLF', async () => {
    for (const text of ['Subject: cut short', '', '\r\nbody only\r\n']) {
      const dsn = build({ original: Buffer.from(text, 'latin1') });
      const { py } = await both(dsn);
      expect(py.parts).toHaveLength(3);
    }
    const bodyOnly = build({ original: Buffer.from('\r\nbody only\r\n', 'latin1') });
    expect(bodyOnly.bytes.toString('latin1')).toContain(
      'Content-Transfer-Encoding: 7bit\r\n\r\n\r\n\r\n--Q7K2M9.1/mx.petrel.test--\r\n',
    );
  });

  it('accepts any Uint8Array view of the original, not only a Buffer', async () => {
    const backing = new Uint8Array(Buffer.from(`xxxx${ORIGINAL}yyyy`, 'latin1'));
    const dsn = build({
      original: backing.subarray(4, 4 + ORIGINAL.length),
      returnContent: 'full',
    });
    const { mp } = await both(dsn);
    expect(mp.attachments[0]!.content.toString('latin1')).toBe(ORIGINAL);
  });
});

describe('buildDsn: refusals', () => {
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(DsnError);
      return (e as DsnError).code;
    }
    throw new Error('did not throw');
  };

  it('throws boundary-collision when the boundary occurs in the original', () => {
    const original = Buffer.from(`${HEADER_SECTION}--Q7K2M9.1/mx.petrel.test--\r\n`, 'latin1');
    expect(code(() => buildDsn(input({ original, returnContent: 'full' })))).toBe(
      'boundary-collision',
    );
    // Anywhere, not only at a line start; and in the header section too.
    const inHeader = Buffer.from('X-Note: see Q7K2M9.1/mx.petrel.test\r\n\r\n', 'latin1');
    expect(code(() => buildDsn(input({ original: inHeader })))).toBe('boundary-collision');
  });

  it('throws boundary-collision when a diagnostic carries the boundary', () => {
    const recipient: DsnRecipient = {
      ...FAILED_BOB,
      diagnostic: { type: 'smtp', text: '550 --Q7K2M9.1/mx.petrel.test--' },
    };
    expect(code(() => buildDsn(input({ recipients: [recipient] })))).toBe('boundary-collision');
  });

  it('ignores the boundary in the body when only the headers are returned', () => {
    const original = Buffer.from(`${HEADER_SECTION}--Q7K2M9.1/mx.petrel.test--\r\n`, 'latin1');
    expect(() => build({ original })).not.toThrow();
  });

  it('throws bare-line-end for a bare LF or CR anywhere in the original', () => {
    for (const text of [
      'Subject: x\n\r\nbody\r\n',
      'Subject: x\r\n\r\nbody\n',
      'Subject: x\r\n\r\nbo\rdy\r\n',
      'Subject: x\r\n\r\nbody\r',
      '\n',
      'Subject: x\r\n\r\n\n.\n',
    ]) {
      expect(code(() => buildDsn(input({ original: Buffer.from(text, 'latin1') })))).toBe(
        'bare-line-end',
      );
    }
  });

  it.each<[string, Partial<DsnInput>]>([
    ['no recipients', { recipients: [] }],
    ['a reporting MTA that is not a host name', { reportingMta: 'mx petrel' }],
    ['a reporting MTA with a line break', { reportingMta: 'mx.petrel.test\r\nBcc: x@y' }],
    ['a queue id with a space', { queueId: 'Q 1' }],
    ['a message id without @', { messageId: 'Q7K2M9.1' }],
    ['a message id in angle brackets', { messageId: '<Q7K2M9.1@mx.petrel.test>' }],
    ['an empty boundary', { boundary: '' }],
    ['a boundary of 71 characters', { boundary: 'b'.repeat(71) }],
    ['a boundary ending with a space', { boundary: 'abc ' }],
    ['a boundary with a quote', { boundary: 'ab"c' }],
    ['an empty To', { to: '' }],
    ['a To with CRLF', { to: 'a@example.org\r\nBcc: victim@example.net' }],
    ['a To in angle brackets', { to: '<a@example.org>' }],
    ['a To with a lone surrogate', { to: 'a\uD800@example.org' }],
    ['an invalid date', { date: new Date(Number.NaN) }],
    ['an arrival date before 1900', { arrivalDate: new Date(Date.UTC(1899, 11, 31)) }],
    ['an unknown returnContent', { returnContent: 'body' as 'full' }],
  ])('throws invalid-input for %s', (_name, overrides) => {
    expect(code(() => buildDsn(input(overrides)))).toBe('invalid-input');
  });

  it.each<[string, Partial<DsnRecipient>]>([
    ['a final recipient with LF', { finalRecipient: 'bob@example.net\nX: y' }],
    ['an original recipient with NUL', { originalRecipient: 'bob\u0000@example.net' }],
    ['a status that is not RFC 3463', { status: '5.1' }],
    ['a status with a leading zero', { status: '5.01.1' }],
    ['a failure with a 2.x.x status', { status: '2.0.0' }],
    ['a success with a 5.x.x status', { action: 'delivered' }],
    ['an unknown action', { action: 'bounced' as 'failed' }],
    ['a remote MTA with a space', { remoteMta: 'mx example' }],
    ['a remote MTA with CRLF', { remoteMta: 'mx\r\nX: y' }],
    ['Will-Retry-Until on a failure', { willRetryUntil: utc(2025, 7, 6) }],
    ['an unknown diagnostic type', { diagnostic: { type: 'x400' as 'smtp', text: 'x' } }],
    [
      'a last attempt date that is not a Date',
      { lastAttemptDate: '2025-07-01' as unknown as Date },
    ],
  ])('throws invalid-input for a recipient with %s', (_name, overrides) => {
    expect(code(() => buildDsn(input({ recipients: [{ ...FAILED_BOB, ...overrides }] })))).toBe(
      'invalid-input',
    );
  });

  it('accepts an expired message reported as failed with a 4.x.x status, as Postfix does', () => {
    expect(() => build({ recipients: [{ ...FAILED_BOB, status: '4.4.7' }] })).not.toThrow();
  });
});
