// The inputs the benchmarks feed the protocol core: a realistic message on the
// wire (dot-stuffed, CRLF, lines of about 78 octets, some starting with ".")
// and a realistic mix of command lines. Deterministic: a seeded generator, so
// every run and every machine measures the same bytes.

import { dotStuff } from '@petrel/smtp';

/** mulberry32: a small seeded generator; no Math.random, so runs repeat. */
function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the relay stores each message durably before it answers and then forwards it to the next hop ' +
  'with retries on temporary failures while permanent ones become delivery status notifications ' +
  'queue worker recipient envelope transaction reply code limit timeout pipelining extension'
).split(' ');

/** A message body of about `size` octets: headers, then text lines of 60 to 78 octets. */
export function messageBody(size, seed = 1) {
  const random = generator(seed);
  const lines = [
    'From: Alice Sender <alice.sender@client.example>',
    'To: Bob Recipient <bob@example.net>',
    'Subject: Quarterly report and the notes from the planning meeting',
    'Date: Mon, 02 Jun 2025 09:30:00 +0000',
    'Message-ID: <20250602093000.4711@client.example>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
  ];
  let octets = lines.reduce((sum, line) => sum + line.length + 2, 0);
  while (octets < size) {
    const roll = random();
    let line;
    if (roll < 0.04) line = '';
    else {
      const width = 58 + Math.floor(random() * 19); // + CRLF: 60 to 78 octets
      line = roll < 0.07 ? '.' : '';
      while (line.length < width) line += WORDS[Math.floor(random() * WORDS.length)] + ' ';
      line = line.slice(0, width);
    }
    lines.push(line);
    octets += line.length + 2;
  }
  return Buffer.from(lines.join('\r\n') + '\r\n', 'latin1');
}

/** The body as sent after 354 (dot-stuffed, ending ".CRLF"), cut into chunks of `chunkSize`. */
export function wireChunks(body, chunkSize) {
  const wire = Buffer.concat(dotStuff(body));
  const chunks = [];
  for (let at = 0; at < wire.length; at += chunkSize)
    chunks.push(wire.subarray(at, at + chunkSize));
  return { wire, chunks };
}

/** One transaction's command lines as the line reader returns them (no CRLF). */
export const COMMAND_MIX = [
  'EHLO mail.client.example',
  'MAIL FROM:<alice.sender@client.example> SIZE=5120 BODY=8BITMIME',
  'RCPT TO:<bob@example.net>',
  'RCPT TO:<carol.recipient@example.org>',
  'RCPT TO:<dave+lists@mail.example.com>',
  'RCPT TO:<erin@[192.0.2.25]>',
  'DATA',
  'RSET',
  'NOOP',
  'QUIT',
].map((line) => Buffer.from(line, 'latin1'));
