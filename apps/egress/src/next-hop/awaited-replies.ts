// What the next hop owes a connection: one reply per command written, in the
// order written (the receive cursor of a pipelining client, kept apart from
// the send side as Postfix does), so that the timeout in force is the one for
// the oldest unanswered command. Replies are only counted, with the protocol
// core's own ReplyParser on the same bytes the dialog reads; what they mean
// stays the dialog's business.
//
// A batch the dialog writes is either command lines, one Buffer each (one
// reply each; a "DATA" line's reply is the 354), or the message: the
// dot-stuffed body or a bare ".", always ending with the ".\r\n" terminator
// (one reply: the end of data). No command line is ".\r\n".
//
// Does not: interpret replies, time anything.

import { ReplyParser } from '@petrel/smtp';
import type { Wait } from './timeouts.js';

const END_OF_DATA = Buffer.from('.\r\n', 'latin1');
const DATA_LINE = Buffer.from('DATA\r\n', 'latin1');
/** The verbs the dialog writes; any other line is an AUTH continuation (RFC 4954 §4). */
const VERBS = new Set([
  'EHLO',
  'HELO',
  'STARTTLS',
  'AUTH',
  'MAIL',
  'SEND',
  'SOML',
  'SAML',
  'RCPT',
  'DATA',
  'RSET',
  'NOOP',
  'QUIT',
]);

export type AwaitedReply = Extract<
  Wait,
  { kind: 'greeting' | 'reply' | 'data-start' | 'data-end' }
>;

export class AwaitedReplies {
  private readonly queue: AwaitedReply[] = [{ kind: 'greeting' }];
  private parser = new ReplyParser();

  /** The reply awaited first, or undefined when nothing is owed. */
  get head(): AwaitedReply | undefined {
    return this.queue[0];
  }

  /** A batch handed to the socket: what it will be answered with. */
  wrote(batch: readonly Buffer[]): void {
    const last = batch[batch.length - 1];
    if (last === undefined) return;
    if (last.equals(END_OF_DATA)) {
      this.queue.push({ kind: 'data-end' });
      return;
    }
    for (const line of batch) {
      if (line.equals(DATA_LINE)) this.queue.push({ kind: 'data-start' });
      else this.queue.push({ kind: 'reply', verb: verbOf(line) });
    }
  }

  /** Bytes from the next hop; the number of replies they completed. */
  read(chunk: Buffer): number {
    this.parser.push(chunk);
    let completed = 0;
    for (let event = this.parser.next(); event !== null; event = this.parser.next()) {
      // An error leaves the parser dead; the dialog sees the same bytes and fails the session.
      if (event.kind === 'error') break;
      completed++;
      this.queue.shift();
    }
    return completed;
  }

  /** TLS is in effect: the next hop starts afresh (RFC 3207 §4.2). */
  tlsStarted(): void {
    this.parser = new ReplyParser();
    this.queue.length = 0;
  }
}

function verbOf(line: Buffer): string {
  const text = line.toString('latin1', 0, Math.min(line.length, 10));
  const verb = /^[A-Za-z]+/.exec(text)?.[0]?.toUpperCase() ?? '';
  return VERBS.has(verb) ? verb : 'AUTH';
}
