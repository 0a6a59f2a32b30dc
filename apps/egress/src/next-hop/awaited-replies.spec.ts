// AwaitedReplies: the receive cursor that picks the timer, fed the batches the
// dialog writes and the bytes the next hop sends.
import { describe, expect, it } from 'vitest';
import { AwaitedReplies } from './awaited-replies.js';

const lines = (...texts: string[]) => texts.map((t) => Buffer.from(`${t}\r\n`, 'latin1'));
const bytes = (text: string) => Buffer.from(text, 'latin1');

describe('AwaitedReplies', () => {
  it('awaits the greeting first, then one reply per command line, in order', () => {
    const awaited = new AwaitedReplies();
    expect(awaited.head).toEqual({ kind: 'greeting' });
    expect(awaited.read(bytes('220 mx ESMTP\r\n'))).toBe(1);
    expect(awaited.head).toBeUndefined();
    awaited.wrote(lines('EHLO egress.test'));
    expect(awaited.head).toEqual({ kind: 'reply', verb: 'EHLO' });
    // A multi-line reply completes once, when its last line comes.
    expect(awaited.read(bytes('250-mx\r\n250-PIPELINING\r\n'))).toBe(0);
    expect(awaited.read(bytes('250 8BITMIME\r\n'))).toBe(1);
    expect(awaited.head).toBeUndefined();
  });

  it('walks a pipelined group reply by reply: MAIL, RCPTs, then the 354 owed to DATA', () => {
    const awaited = new AwaitedReplies();
    awaited.read(bytes('220 mx\r\n'));
    awaited.wrote(lines('RSET', 'MAIL FROM:<a@b.test>', 'RCPT TO:<c@d.test>', 'DATA'));
    expect(awaited.head).toEqual({ kind: 'reply', verb: 'RSET' });
    awaited.read(bytes('250 ok\r\n250 ok\r\n'));
    expect(awaited.head).toEqual({ kind: 'reply', verb: 'RCPT' });
    // A reply split across chunks.
    expect(awaited.read(bytes('250 o'))).toBe(0);
    expect(awaited.read(bytes('k\r\n'))).toBe(1);
    expect(awaited.head).toEqual({ kind: 'data-start' });
    awaited.read(bytes('354 go\r\n'));
    // The body: however many pieces, one reply, owed to the end of data.
    awaited.wrote([
      bytes('Subject: x\r\n'),
      bytes('\r\n'),
      bytes('.'),
      bytes('.x\r\n'),
      bytes('.\r\n'),
    ]);
    expect(awaited.head).toEqual({ kind: 'data-end' });
    awaited.read(bytes('250 queued\r\n'));
    expect(awaited.head).toBeUndefined();
  });

  it('names an AUTH continuation line AUTH, never by its base64 text', () => {
    const awaited = new AwaitedReplies();
    awaited.read(bytes('220 mx\r\n'));
    awaited.wrote(lines('AUTH LOGIN'));
    awaited.read(bytes('334 VXNlcm5hbWU6\r\n'));
    awaited.wrote(lines('YWxpY2U='));
    expect(awaited.head).toEqual({ kind: 'reply', verb: 'AUTH' });
  });

  it('forgets everything at TLS (RFC 3207 §4.2): a fresh parser, nothing owed', () => {
    const awaited = new AwaitedReplies();
    awaited.read(bytes('220 mx\r\n'));
    awaited.wrote(lines('STARTTLS'));
    awaited.read(bytes('220 go ahead\r\n250-half'));
    awaited.tlsStarted();
    expect(awaited.head).toBeUndefined();
    awaited.wrote(lines('EHLO egress.test'));
    expect(awaited.read(bytes('250 mx\r\n'))).toBe(1);
  });

  it('stops counting at garbage (the dialog fails the session on the same bytes)', () => {
    const awaited = new AwaitedReplies();
    expect(awaited.read(bytes('hello there\r\n220 mx\r\n'))).toBe(0);
    expect(awaited.head).toEqual({ kind: 'greeting' });
  });
});
