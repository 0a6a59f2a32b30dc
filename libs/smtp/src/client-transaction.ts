// One mail transaction of the sender-SMTP machine: [RSET] MAIL, RCPT per
// recipient, DATA, the dot-stuffed body, and the outcome of every recipient.
// A receive cursor (the queue of commands awaiting replies) is kept apart from
// the send cursor, as Postfix's pipelining client does, so the same code runs
// lock-step and pipelined (RFC 2920 §3.1: MAIL, RCPTs and DATA in one group,
// replies read in order).
//
// Invariants:
// - Each recipient gets exactly one outcome: MAIL's refusal, else its RCPT
//   refusal, else the DATA or end-of-data reply, else (abort) the reply that
//   ended the session.
// - The body goes out only after a 3yz to DATA and only when at least one
//   recipient was accepted; a 3yz with none accepted is answered with a bare
//   ".\r\n" (RFC 2920 §3.1), and nothing from that reply is applied.
// - SOML/SAML refused with 500/502 are retried once as MAIL (RFC 5321
//   Appendix F.6 deprecated them; mailbox delivery satisfies "or", and is the
//   mailbox half of "and"), RSET first, after every reply of the first attempt
//   has been read.
//
// Does not: handle 421 or connection loss (the dialog aborts the transaction),
// check SIZE or SMTPUTF8 (the dialog does, before MAIL).

import { commandLine, mailCommand, rcptCommand } from './client-commands.js';
import type { OutboundTransaction, OutcomeStage, RecipientOutcome } from './client-types.js';
import { dotStuff } from './dot-stuff.js';
import type { Extensions } from './extensions.js';
import { replyClass, type Reply } from './replies.js';
import type { TransactionVerb } from './types.js';

type Awaiting =
  | { readonly what: 'rset' }
  | { readonly what: 'mail' }
  | { readonly what: 'rcpt'; readonly index: number }
  | { readonly what: 'data' }
  | { readonly what: 'dot'; readonly empty: boolean };

export type TransactionStep =
  | { readonly kind: 'send'; readonly data: Buffer[] }
  | { readonly kind: 'wait' }
  | {
      readonly kind: 'done';
      readonly outcomes: RecipientOutcome[];
      readonly verbUsed: TransactionVerb;
    }
  | { readonly kind: 'violation'; readonly message: string };

export interface TransactionSettings {
  readonly extensions: Extensions;
  readonly pipelining: boolean;
  /** Send RSET first: an earlier transaction ran on this connection. */
  readonly reset: boolean;
  readonly commandLine: number;
}

export class ClientTransaction {
  private verb: TransactionVerb;
  private readonly outcomes: (RecipientOutcome | undefined)[];
  private accepted: number[] = [];
  private awaiting: Awaiting[] = [];
  private mailRefused = false;
  private retryAsMail = false;
  private reset: boolean;

  constructor(
    private readonly tx: OutboundTransaction,
    private readonly settings: TransactionSettings,
  ) {
    this.verb = tx.verb;
    this.reset = settings.reset;
    this.outcomes = tx.recipients.map(() => undefined);
  }

  /** The first batch to write. */
  start(): Buffer[] {
    this.accepted = [];
    this.mailRefused = false;
    this.retryAsMail = false;
    const reset = this.reset;
    this.reset = true; // a retry as MAIL resets first
    if (reset && !this.settings.pipelining) return [this.command('RSET', { what: 'rset' })];
    const batch: Buffer[] = [];
    if (reset) batch.push(this.command('RSET', { what: 'rset' }));
    batch.push(this.mail());
    if (!this.settings.pipelining) return batch;
    this.tx.recipients.forEach((_, i) => batch.push(this.rcpt(i)));
    batch.push(this.command('DATA', { what: 'data' }));
    return batch;
  }

  /** The stage whose reply is awaited next, for a 421 that ends the session here. */
  get stage(): OutcomeStage {
    const head = this.awaiting[0];
    if (head === undefined || head.what === 'rset' || head.what === 'mail') return 'mail';
    return head.what === 'rcpt' ? 'rcpt' : 'data';
  }

  /** Outcomes with `reply` for every recipient still without one: the session ends mid-transaction. */
  abort(reply: Reply, stage: OutcomeStage, synthetic: boolean): RecipientOutcome[] {
    return this.tx.recipients.map(
      (recipient, i) => this.outcomes[i] ?? { recipient, stage, reply, synthetic },
    );
  }

  get verbUsed(): TransactionVerb {
    return this.verb;
  }

  onReply(reply: Reply): TransactionStep {
    const head = this.awaiting.shift();
    if (head === undefined) return { kind: 'violation', message: `unexpected reply ${reply.code}` };
    const cls = replyClass(reply.code);
    switch (head.what) {
      case 'rset':
        if (cls !== 2) return { kind: 'violation', message: `RSET answered ${reply.code}` };
        return this.settings.pipelining ? { kind: 'wait' } : this.send([this.mail()]);
      case 'mail':
        return this.onMail(reply, cls);
      case 'rcpt':
        return this.onRcpt(head.index, reply, cls);
      case 'data':
        return this.onData(reply, cls);
      case 'dot':
        if (cls === 3) return { kind: 'violation', message: `end of data answered ${reply.code}` };
        if (!head.empty) this.applyToAccepted(reply, 'data');
        return this.finish();
    }
  }

  private onMail(reply: Reply, cls: number): TransactionStep {
    if (cls === 2) {
      return this.settings.pipelining ? { kind: 'wait' } : this.send([this.rcpt(0)]);
    }
    if (cls === 3) return { kind: 'violation', message: `${this.verb} answered ${reply.code}` };
    this.mailRefused = true;
    if (
      (this.verb === 'SOML' || this.verb === 'SAML') &&
      (reply.code === 500 || reply.code === 502)
    ) {
      this.retryAsMail = true;
    } else {
      this.tx.recipients.forEach((recipient, i) => {
        this.outcomes[i] ??= { recipient, stage: 'mail', reply, synthetic: false };
      });
    }
    return this.settings.pipelining ? { kind: 'wait' } : this.finish();
  }

  private onRcpt(index: number, reply: Reply, cls: number): TransactionStep {
    if (cls === 3) return { kind: 'violation', message: `RCPT answered ${reply.code}` };
    if (!this.mailRefused) {
      if (cls === 2) this.accepted.push(index);
      else
        this.outcomes[index] = {
          recipient: this.tx.recipients[index]!,
          stage: 'rcpt',
          reply,
          synthetic: false,
        };
    }
    if (this.settings.pipelining) return { kind: 'wait' };
    if (index + 1 < this.tx.recipients.length) return this.send([this.rcpt(index + 1)]);
    if (this.accepted.length === 0) return this.finish();
    return this.send([this.command('DATA', { what: 'data' })]);
  }

  private onData(reply: Reply, cls: number): TransactionStep {
    if (cls === 2) return { kind: 'violation', message: `DATA answered ${reply.code}` };
    if (cls === 3) {
      if (this.mailRefused || this.accepted.length === 0) {
        this.awaiting.push({ what: 'dot', empty: true });
        return this.send([Buffer.from('.\r\n')]);
      }
      this.awaiting.push({ what: 'dot', empty: false });
      return this.send(dotStuff(this.tx.body));
    }
    if (!this.mailRefused) this.applyToAccepted(reply, 'data');
    return this.finish();
  }

  private applyToAccepted(reply: Reply, stage: OutcomeStage): void {
    for (const i of this.accepted) {
      this.outcomes[i] ??= { recipient: this.tx.recipients[i]!, stage, reply, synthetic: false };
    }
  }

  /** After the last awaited reply of an attempt: retry as MAIL, or the outcomes. */
  private finish(): TransactionStep {
    if (this.awaiting.length > 0) return { kind: 'wait' };
    if (this.retryAsMail) {
      this.verb = 'MAIL';
      return this.send(this.start());
    }
    const outcomes = this.outcomes.map((o, i) => {
      if (o !== undefined) return o;
      // Unreachable: every path to here gave each recipient an outcome.
      throw new Error(`recipient ${i} has no outcome`);
    });
    return { kind: 'done', outcomes, verbUsed: this.verb };
  }

  private send(data: Buffer[]): TransactionStep {
    return { kind: 'send', data };
  }

  private mail(): Buffer {
    return this.command(mailCommand(this.verb, this.tx, this.settings.extensions), {
      what: 'mail',
    });
  }

  private rcpt(index: number): Buffer {
    return this.command(rcptCommand(this.tx.recipients[index]!), { what: 'rcpt', index });
  }

  private command(text: string, awaiting: Awaiting): Buffer {
    const line = commandLine(text, this.settings.commandLine);
    this.awaiting.push(awaiting);
    return line;
  }
}
