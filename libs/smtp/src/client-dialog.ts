// The sender-SMTP side as a pure state machine (sans-I/O, as h11): the host
// feeds it the next hop's bytes and calls its methods; it answers with outputs
// (bytes to write, start TLS, ready, a transaction's outcomes, failed, close).
// The host owns the socket, TLS and timers; a timeout is connectionLost().
//
// Session: 220 greeting, EHLO (HELO when EHLO is refused with 500, 501, 502
// or 504: "not recognised", "syntax", "not implemented"; any other refusal
// fails the session), STARTTLS when offered and wanted (RFC 3207; afterwards
// everything said before TLS is forgotten and EHLO is sent again, §4.2), AUTH
// PLAIN or LOGIN when credentials are configured (RFC 4954), then ready.
//
// Invariants:
// - Every send() produces exactly one transaction-done, one outcome per
//   recipient, unless it throws (misuse: wrong state, no or too many recipients,
//   a path that cannot be written).
// - A 421 at any point ends the session (RFC 5321 §3.8): pending recipients
//   get that reply. A lost connection or a protocol violation (garbage, a reply
//   with nothing awaiting it, a code that makes no sense for its command) gives
//   pending recipients a synthetic 4yz with stage 'connection'.
// - Bytes received after the STARTTLS reply and before the handshake are never
//   interpreted: they fail the session (a man in the middle injecting
//   plaintext, cf. CVE-2011-0411 on the server side).
// - Credentials never go out in plaintext unless allowPlaintextAuth.
// - After `failed` or `close` the machine ignores input and takes no command.
// - A failure while the channel is still in step writes QUIT before `failed`
//   (RFC 5321 §4.1.1.10); not after 421, a violation, or a lost connection.
//
// Does not: resolve MX, retry, split recipients (the host does; it must not
// pass more than limits.recipients), decide what a reply means for delivery
// (the egress failure classifier does), time anything.

import { clientReplies, describeReply } from './client-replies.js';
import { ClientAuth } from './client-auth.js';
import { commandLine, needsSmtputf8 } from './client-commands.js';
import { ClientTransaction, type TransactionStep } from './client-transaction.js';
import type {
  ClientOptions,
  ClientOutput,
  ClientState,
  FailureStage,
  OutboundTransaction,
  OutcomeStage,
  RecipientOutcome,
} from './client-types.js';
import { NO_EXTENSIONS, parseEhloReply, type Extensions } from './extensions.js';
import { DEFAULT_LIMITS, type SmtpLimits } from './limits.js';
import { replyClass, type Reply } from './replies.js';
import { ReplyParser, toReply } from './reply-parser.js';

/** EHLO refusals that mean "I do not speak ESMTP": fall back to HELO. */
const EHLO_FALLBACK = new Set([500, 501, 502, 504]);

export class ClientDialog {
  private current: ClientState = 'greeting';
  private parser = new ReplyParser();
  private extensions: Extensions = NO_EXTENSIONS;
  private tlsActive: boolean;
  private auth: ClientAuth | null = null;
  private transaction: ClientTransaction | null = null;
  /** A MAIL was sent on this connection: RSET before the next one. */
  private used = false;
  private readonly limits: SmtpLimits;

  constructor(private readonly options: ClientOptions) {
    if (!/^[\x21-\x7e]+$/.test(options.heloName)) {
      throw new RangeError(
        `heloName must be printable ASCII without spaces: ${JSON.stringify(options.heloName)}`,
      );
    }
    this.tlsActive = options.tlsActive === true;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
  }

  get state(): ClientState {
    return this.current;
  }

  receive(chunk: Buffer): ClientOutput[] {
    if (this.current === 'closed' || this.current === 'failed') return [];
    if (this.current === 'tls-handshake') {
      return this.violation('bytes received after the STARTTLS reply, before TLS');
    }
    this.parser.push(chunk);
    const out: ClientOutput[] = [];
    while (this.reading()) {
      const event = this.parser.next();
      if (event === null) break;
      if (event.kind === 'error') out.push(...this.violation(event.message));
      else out.push(...this.onReply(toReply(event.reply)));
    }
    return out;
  }

  tlsStarted(): ClientOutput[] {
    if (this.current !== 'tls-handshake') throw new Error(`tlsStarted() in state ${this.current}`);
    // RFC 3207 §4.2: forget everything the server said before TLS.
    this.tlsActive = true;
    this.parser = new ReplyParser();
    this.extensions = NO_EXTENSIONS;
    return this.command('ehlo', `EHLO ${this.options.heloName}`);
  }

  send(tx: OutboundTransaction): ClientOutput[] {
    if (this.current !== 'ready') throw new Error(`send() in state ${this.current}`);
    const n = tx.recipients.length;
    if (n === 0 || n > this.limits.recipients) {
      throw new RangeError(
        `a transaction takes 1 to ${this.limits.recipients} recipients, not ${n}`,
      );
    }
    const ext = this.extensions;
    if (needsSmtputf8(tx) && !ext.smtputf8) {
      return [this.refuseAll(tx, clientReplies.smtputf8Required())];
    }
    if (ext.maxSize !== null && tx.size > ext.maxSize) {
      return [this.refuseAll(tx, clientReplies.messageTooBig(tx.size, ext.maxSize))];
    }
    const transaction = new ClientTransaction(tx, {
      extensions: ext,
      pipelining: ext.pipelining && this.options.pipelining !== false,
      reset: this.used,
      commandLine: this.limits.commandLine,
    });
    const data = transaction.start();
    this.transaction = transaction;
    this.used = true;
    this.current = 'transaction';
    return [{ kind: 'send', data }];
  }

  quit(): ClientOutput[] {
    if (this.current !== 'ready') throw new Error(`quit() in state ${this.current}`);
    return this.command('quit', 'QUIT');
  }

  noop(): ClientOutput[] {
    if (this.current !== 'ready') throw new Error(`noop() in state ${this.current}`);
    return this.command('noop', 'NOOP');
  }

  connectionLost(): ClientOutput[] {
    if (this.current === 'closed' || this.current === 'failed') return [];
    if (this.current === 'quit') {
      this.current = 'closed';
      return [{ kind: 'close' }];
    }
    const reply = clientReplies.connectionLost();
    return this.fail(reply, {
      synthetic: true,
      quit: false,
      recipients: { reply, stage: 'connection' },
    });
  }

  /** Replies may still be read from the parser: not ended, not between STARTTLS and TLS. */
  private reading(): boolean {
    const s = this.current;
    return s !== 'closed' && s !== 'failed' && s !== 'tls-handshake';
  }

  // --- replies ---------------------------------------------------------------

  private onReply(reply: Reply): ClientOutput[] {
    if (this.current === 'quit') {
      this.current = 'closed';
      return [{ kind: 'close' }];
    }
    if (reply.code === 421) {
      // RFC 5321 §3.8: the next hop is closing; nothing more will be answered.
      const stage = this.transaction?.stage ?? 'connection';
      return this.fail(reply, { synthetic: false, quit: false, recipients: { reply, stage } });
    }
    const cls = replyClass(reply.code);
    switch (this.current) {
      case 'greeting':
        if (reply.code === 220) return this.command('ehlo', `EHLO ${this.options.heloName}`);
        if (cls === 2 || cls === 3) return this.violation(`greeting ${reply.code}`);
        return this.refused(reply);
      case 'ehlo':
        if (cls === 2) {
          this.extensions = parseEhloReply(reply.lines);
          return this.afterHello();
        }
        if (EHLO_FALLBACK.has(reply.code))
          return this.command('helo', `HELO ${this.options.heloName}`);
        return cls === 3 ? this.violation(`EHLO answered ${reply.code}`) : this.refused(reply);
      case 'helo':
        if (cls === 2) {
          this.extensions = NO_EXTENSIONS;
          return this.afterHello();
        }
        return cls === 3 ? this.violation(`HELO answered ${reply.code}`) : this.refused(reply);
      case 'starttls':
        return this.onStartTls(reply, cls);
      case 'auth':
        return this.onAuth(reply, cls);
      case 'noop':
        if (cls === 2) return this.ready();
        return cls === 3 ? this.violation(`NOOP answered ${reply.code}`) : this.refused(reply);
      case 'transaction':
        return this.onTransactionStep(this.transaction!.onReply(reply));
      default:
        // 'ready': nothing was asked.
        return this.violation(`unexpected reply ${reply.code} while idle`);
    }
  }

  private afterHello(): ClientOutput[] {
    const { tls } = this.options;
    if (!this.tlsActive && tls !== 'none') {
      if (this.extensions.startTls) return this.command('starttls', 'STARTTLS');
      if (tls === 'required') {
        return this.refused(
          clientReplies.tlsRequired('the next hop does not offer STARTTLS'),
          true,
        );
      }
    }
    return this.authenticate();
  }

  private onStartTls(reply: Reply, cls: number): ClientOutput[] {
    if (cls === 2) {
      if (this.parser.buffered > 0)
        return this.violation('bytes pipelined after the STARTTLS reply');
      this.current = 'tls-handshake';
      return [{ kind: 'start-tls' }];
    }
    if (cls === 3) return this.violation(`STARTTLS answered ${reply.code}`);
    if (this.options.tls === 'required') {
      return this.refused(
        clientReplies.tlsRequired(`STARTTLS was refused: ${describeReply(reply)}`),
        true,
      );
    }
    // Opportunistic: go on in plaintext with what EHLO said (RFC 3207 §4.1).
    return this.authenticate();
  }

  private authenticate(): ClientOutput[] {
    const credentials = this.options.credentials;
    if (credentials === undefined || credentials === null) return this.ready();
    if (!this.tlsActive && this.options.allowPlaintextAuth !== true) {
      return this.refused(
        clientReplies.authUnavailable('TLS is not in effect and plaintext AUTH is not allowed'),
        true,
      );
    }
    const auth = ClientAuth.start(credentials, this.extensions.auth, this.limits.commandLine);
    if (typeof auth === 'string') return this.refused(clientReplies.authUnavailable(auth), true);
    this.auth = auth;
    return this.command('auth', auth.command);
  }

  private onAuth(reply: Reply, cls: number): ClientOutput[] {
    if (cls === 4 || cls === 5) return this.refused(reply);
    const step = this.auth!.onReply(reply);
    switch (step.kind) {
      case 'done':
        this.auth = null;
        return this.ready();
      case 'send':
        return this.command('auth', step.line, this.limits.authLine);
      case 'violation':
        return this.violation(step.message);
    }
  }

  private onTransactionStep(step: TransactionStep): ClientOutput[] {
    switch (step.kind) {
      case 'wait':
        return [];
      case 'send':
        return [{ kind: 'send', data: step.data }];
      case 'violation':
        return this.violation(step.message);
      case 'done':
        this.transaction = null;
        this.current = 'ready';
        return [{ kind: 'transaction-done', outcomes: step.outcomes, verbUsed: step.verbUsed }];
    }
  }

  // --- outputs ---------------------------------------------------------------

  private ready(): ClientOutput[] {
    this.current = 'ready';
    return [{ kind: 'ready', extensions: this.extensions }];
  }

  private command(
    next: 'ehlo' | 'helo' | 'starttls' | 'auth' | 'noop' | 'quit',
    text: string,
    max = this.limits.commandLine,
  ): ClientOutput[] {
    const data = [commandLine(text, max)];
    this.current = next;
    return [{ kind: 'send', data }];
  }

  /** Every recipient refused before anything is sent (the next hop lacks an extension). */
  private refuseAll(tx: OutboundTransaction, reply: Reply): ClientOutput {
    const outcomes: RecipientOutcome[] = tx.recipients.map((recipient) => ({
      recipient,
      stage: 'extension',
      reply,
      synthetic: true,
    }));
    return { kind: 'transaction-done', outcomes, verbUsed: tx.verb };
  }

  /** The next hop refused a session step (or a synthetic refusal): QUIT, then failed. */
  private refused(reply: Reply, synthetic = false): ClientOutput[] {
    return this.fail(reply, { synthetic, quit: true, recipients: null });
  }

  private violation(message: string): ClientOutput[] {
    const reply = clientReplies.protocolViolation(message);
    return this.fail(reply, {
      synthetic: true,
      quit: false,
      recipients: { reply, stage: 'connection' },
    });
  }

  /**
   * Ends the session: QUIT first when asked, then the pending recipients of a
   * running transaction get `recipients` (or `reply` at stage 'connection').
   */
  private fail(
    reply: Reply,
    how: {
      synthetic: boolean;
      quit: boolean;
      recipients: { reply: Reply; stage: OutcomeStage } | null;
    },
  ): ClientOutput[] {
    const out: ClientOutput[] = [];
    const stage = this.failureStage();
    if (how.quit) out.push({ kind: 'send', data: [commandLine('QUIT', this.limits.commandLine)] });
    const tx = this.transaction;
    if (tx !== null) {
      const r = how.recipients ?? { reply, stage: 'connection' };
      out.push({
        kind: 'transaction-done',
        outcomes: tx.abort(r.reply, r.stage, how.synthetic),
        verbUsed: tx.verbUsed,
      });
      this.transaction = null;
    }
    this.current = 'failed';
    out.push({ kind: 'failed', stage, reply, synthetic: how.synthetic });
    return out;
  }

  private failureStage(): FailureStage {
    switch (this.current) {
      case 'greeting':
      case 'ehlo':
      case 'helo':
      case 'starttls':
      case 'auth':
      case 'noop':
        return this.current;
      case 'tls-handshake':
        return 'tls';
      case 'transaction': {
        const stage = this.transaction?.stage;
        return stage === 'rcpt' || stage === 'data' ? stage : 'mail';
      }
      default:
        return 'idle';
    }
  }
}
