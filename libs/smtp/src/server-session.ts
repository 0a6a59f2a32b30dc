// The receiver-SMTP session as a pure state machine (RFC 5321 §3, §4.1; RFC 2920
// PIPELINING; RFC 3207 STARTTLS; RFC 4954 AUTH). Bytes in, outputs out: replies
// to write, questions for the host, and the actions "start TLS" and "close".
// The host owns the socket, TLS, timers and policy.
//
// Invariants:
// - Every command gets exactly one reply, in the order the commands arrived,
//   whatever the chunking of the input (pipelined batches included).
// - While a question is open the machine is paused: input waits in its buffer
//   and is processed, in order, after `answer()`.
// - The 250 after DATA is produced only by an accept answer to "store".
// - Only CRLF.CRLF on the raw bytes ends DATA (data-reader.ts); a message with
//   bare CR/LF, an over-long line or over the size limit is refused whole.
// - After STARTTLS's 220, anything pipelined behind it is discarded, and after
//   the handshake the session forgets HELO/EHLO, the transaction and AUTH
//   (RFC 3207 §4.2).
// - Memory is bounded: command lines by the line limit, messages by the size
//   limit.
//
// Does not: read sockets, keep time (the host calls `timeout()`), decide relay
// permission or store anything (questions), format reply bytes (reply-format.ts).

import { parseCommand, type Command, type ParseContext, type Verb } from './command-parser.js';
import { DataReader, type DataEnd } from './data-reader.js';
import { DEFAULT_LIMITS, type SmtpLimits } from './limits.js';
import { LineReader } from './line-reader.js';
import { reply, type Reply } from './replies.js';
import { formatReply } from './reply-format.js';
import {
  decodeSaslResponse,
  LOGIN_PASSWORD_CHALLENGE,
  LOGIN_USERNAME_CHALLENGE,
  parsePlainResponse,
  SASL_MECHANISMS,
  type SaslMechanism,
} from './sasl.js';
import { replyForVerdict, type Question, type Verdict } from './server-questions.js';
import type { MailParameters, Path, Recipient, TransactionVerb } from './types.js';

export interface ServerOptions {
  /** The name in the greeting and the EHLO reply. */
  readonly hostname: string;
  /** Greeting text after the hostname; default "ESMTP". */
  readonly greetingText?: string;
  readonly limits?: Partial<SmtpLimits>;
  /** A certificate is configured: offer STARTTLS. */
  readonly starttls?: boolean;
  /** The connection is already TLS (implicit TLS, port 465). */
  readonly tlsActive?: boolean;
  /** When AUTH is offered: never, only under TLS (default), or also in plaintext. */
  readonly auth?: 'never' | 'tls' | 'always';
  /** Offer SMTPUTF8 (default true). */
  readonly smtputf8?: boolean;
  /** Answer EXPN through the "expn" question; otherwise 502 (default false). */
  readonly expn?: boolean;
  /** Allow TURN for authenticated clients through the "turn" question; otherwise 502 (default false). */
  readonly turn?: boolean;
}

export type ServerOutput =
  /** Write `text`. `verb` is the command answered, null for the greeting and unrecognised lines. */
  | {
      readonly kind: 'reply';
      readonly reply: Reply;
      readonly text: string;
      readonly verb: Verb | null;
    }
  /** Answer with `answer()`; the machine is paused until then. */
  | { readonly kind: 'question'; readonly question: Question }
  /** Start the TLS handshake on the socket, then call `tlsStarted()`. */
  | { readonly kind: 'start-tls' }
  /** TURN was granted: the roles reverse on this connection (RFC 821 §4.1.1). */
  | { readonly kind: 'turn' }
  /** Close the connection after writing what came before. */
  | { readonly kind: 'close' };

export type SessionPhase = 'init' | 'command' | 'data' | 'auth' | 'question' | 'tls' | 'closed';

interface OpenTransaction {
  verb: TransactionVerb;
  reversePath: Path;
  parameters: MailParameters;
  recipients: Recipient[];
  /** RCPT commands tried, accepted or not: tells 503 from 554 at DATA (RFC 5321 §3.3). */
  rcptTried: number;
}

type AuthStep = { mechanism: 'PLAIN' } | { mechanism: 'LOGIN'; username: string | null };

/** Replies that do not count toward the error limit: not the client's fault, or closing anyway. */
const NOT_COUNTED = new Set<string>([
  'tooManyRecipients',
  'localError',
  'authTemporaryFailure',
  'insufficientStorage',
]);

export class ServerSession {
  readonly limits: SmtpLimits;
  private readonly options: ServerOptions;
  private readonly lines: LineReader;
  private data: DataReader | null = null;
  private out: ServerOutput[] = [];

  private phaseValue: SessionPhase = 'init';
  private greeted: 'HELO' | 'EHLO' | null = null;
  private heloName: string | null = null;
  private tls: boolean;
  private authenticatedAs: string | null = null;
  private transaction: OpenTransaction | null = null;
  private errors = 0;
  private draining = false;
  private pending: { question: Question; verb: Verb | null } | null = null;
  private authStep: AuthStep | null = null;
  private parseContext: ParseContext;

  constructor(options: ServerOptions) {
    this.options = options;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.lines = new LineReader(this.limits.commandLine);
    this.tls = options.tlsActive === true;
    this.parseContext = this.makeParseContext();
  }

  get phase(): SessionPhase {
    return this.phaseValue;
  }
  /** The HELO/EHLO argument, for the Received header. */
  get helo(): { verb: 'HELO' | 'EHLO'; name: string } | null {
    return this.greeted === null || this.heloName === null
      ? null
      : { verb: this.greeted, name: this.heloName };
  }
  get tlsActive(): boolean {
    return this.tls;
  }
  get authenticated(): string | null {
    return this.authenticatedAs;
  }
  /** A transaction is open (MAIL accepted, through the end of DATA and its store). */
  get inTransaction(): boolean {
    return this.transaction !== null;
  }
  /** Which RFC 5321 §4.5.3.2 server timeout applies now. */
  get timeoutKind(): 'command' | 'data-block' | null {
    if (this.phaseValue === 'data') return 'data-block';
    if (this.phaseValue === 'command' || this.phaseValue === 'auth') return 'command';
    return null;
  }

  /** The 220 greeting; input received before it was buffered and is processed now. */
  greet(): ServerOutput[] {
    if (this.phaseValue !== 'init') throw new Error('greet() called twice');
    this.phaseValue = 'command';
    const text = `${this.options.hostname} ${this.options.greetingText ?? 'ESMTP'}`;
    this.emit(reply('greeting', text), null);
    return this.run();
  }

  /** Refuse the connection instead of greeting it (rate limit, draining): the reply, then close. */
  refuse(r: Reply): ServerOutput[] {
    this.emit(r, null);
    this.close();
    return this.flush();
  }

  receive(chunk: Buffer): ServerOutput[] {
    switch (this.phaseValue) {
      case 'closed':
      case 'tls':
        // After STARTTLS's 220, plaintext is not ours to read (RFC 3207 §4.2).
        return [];
      case 'data':
        return this.dataEnded(this.data!.push(chunk));
      default:
        this.lines.push(chunk);
        return this.phaseValue === 'init' || this.phaseValue === 'question' ? [] : this.run();
    }
  }

  answer(verdict: Verdict): ServerOutput[] {
    const pending = this.pending;
    if (pending === null || this.phaseValue !== 'question') throw new Error('no question is open');
    this.pending = null;
    this.phaseValue = 'command';
    const r = replyForVerdict(pending.question, verdict);
    if (verdict.kind === 'disconnect') {
      this.emit(r, pending.verb);
      this.close();
      return this.flush();
    }
    const accepted = verdict.kind === 'accept';
    const q = pending.question;
    switch (q.kind) {
      case 'mail':
        if (accepted) {
          this.transaction = {
            verb: q.verb,
            reversePath: q.reversePath,
            parameters: q.parameters,
            recipients: [],
            rcptTried: 0,
          };
          this.parseContext = this.makeParseContext();
        }
        break;
      case 'rcpt':
        if (accepted) this.transaction?.recipients.push(q.recipient);
        break;
      case 'store':
        this.resetTransaction();
        break;
      case 'auth':
        if (accepted) this.authenticatedAs = q.credentials.username;
        break;
      case 'turn':
        if (accepted) {
          this.emit(r, pending.verb);
          this.out.push({ kind: 'turn' });
          this.phaseValue = 'closed';
          return this.flush();
        }
        break;
      case 'expn':
        break;
    }
    this.emit(r, pending.verb);
    return this.run();
  }

  /** The STARTTLS handshake finished: the session starts over (RFC 3207 §4.2). */
  tlsStarted(): ServerOutput[] {
    if (this.phaseValue !== 'tls') throw new Error('STARTTLS was not granted');
    this.tls = true;
    this.greeted = null;
    this.heloName = null;
    this.authenticatedAs = null;
    this.resetTransaction();
    this.phaseValue = 'command';
    this.parseContext = this.makeParseContext();
    return this.run();
  }

  /** The host's timer for `timeoutKind` fired: 421 and close. */
  timeout(): ServerOutput[] {
    if (this.phaseValue === 'closed') return [];
    this.emit(reply('timeout'), null);
    this.close();
    return this.flush();
  }

  /**
   * The service is going away now (drain grace over, or idle when draining
   * began): 421 and close, as RFC 5321 §3.8 allows at any time.
   */
  shutdown(): ServerOutput[] {
    if (this.phaseValue === 'closed') return [];
    this.emit(this.shuttingDown(), null);
    this.close();
    return this.flush();
  }

  /**
   * Graceful drain: a transaction in progress finishes; the next command
   * outside a transaction gets 421 and the session closes.
   */
  drain(): void {
    this.draining = true;
  }

  // ---- the loop ----

  private run(): ServerOutput[] {
    while (this.phaseValue === 'command' || this.phaseValue === 'auth') {
      const event = this.lines.next();
      if (event === null) break;
      if (this.phaseValue === 'auth') {
        if (event.kind === 'too-long') this.authFailedWith(reply('authLineTooLong'));
        else this.authLine(event.line.toString('latin1'));
        continue;
      }
      if (event.kind === 'too-long') {
        this.emit(reply('lineTooLong'), null);
        continue;
      }
      this.command(event.line);
    }
    return this.flush();
  }

  private flush(): ServerOutput[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  /** Every reply leaves through here: formatted once, counted toward the error limit. */
  private emit(r: Reply, verb: Verb | null): void {
    this.out.push({ kind: 'reply', reply: r, text: formatReply(r, this.limits.replyLine), verb });
    if (
      r.code >= 400 &&
      r.code !== 421 &&
      !NOT_COUNTED.has(r.name) &&
      !(r.code < 500 && r.name === 'custom')
    ) {
      this.errors += 1;
      if (this.errors >= this.limits.errors && this.phaseValue !== 'closed') {
        this.out.push({
          kind: 'reply',
          reply: reply('tooManyErrors'),
          text: formatReply(reply('tooManyErrors'), this.limits.replyLine),
          verb: null,
        });
        this.close();
      }
    }
  }

  private ask(question: Question, verb: Verb | null): void {
    this.pending = { question, verb };
    this.phaseValue = 'question';
    this.out.push({ kind: 'question', question });
  }

  private close(): void {
    this.phaseValue = 'closed';
    this.data = null;
    this.out.push({ kind: 'close' });
  }

  private resetTransaction(): void {
    if (this.transaction !== null) {
      this.transaction = null;
      this.parseContext = this.makeParseContext();
    }
  }

  private makeParseContext(): ParseContext {
    return {
      extended: this.greeted === 'EHLO',
      smtputf8: this.options.smtputf8 !== false,
      utf8Transaction: this.transaction?.parameters.smtputf8 === true,
      authOffered: this.authOffered(),
      limits: this.limits,
    };
  }

  private authOffered(): boolean {
    const auth = this.options.auth ?? 'tls';
    return auth === 'always' || (auth === 'tls' && this.tls);
  }

  private shuttingDown(): Reply {
    return reply(
      'serviceUnavailable',
      `${this.options.hostname} Service shutting down, closing transmission channel`,
    );
  }

  // ---- commands ----

  private command(line: Buffer): void {
    const parsed = parseCommand(line, this.parseContext);
    if (
      this.draining &&
      this.transaction === null &&
      !(parsed.ok && parsed.command.verb === 'QUIT')
    ) {
      this.emit(this.shuttingDown(), null);
      this.close();
      return;
    }
    if (!parsed.ok) {
      this.emit(parsed.reply, parsed.verb);
      return;
    }
    this.dispatch(parsed.command);
  }

  /** The command table: order checks (503) and actions, one case per verb, checked exhaustively. */
  private dispatch(c: Command): void {
    switch (c.verb) {
      case 'HELO':
      case 'EHLO':
        this.resetTransaction();
        this.greeted = c.verb;
        this.heloName = c.domain;
        this.parseContext = this.makeParseContext();
        this.emit(
          c.verb === 'HELO'
            ? reply('heloOk', this.options.hostname)
            : reply('ehloOk', this.ehloLines()),
          c.verb,
        );
        return;
      case 'MAIL':
      case 'SEND':
      case 'SOML':
      case 'SAML':
        if (this.greeted === null || this.transaction !== null)
          return this.emit(reply('badSequence'), c.verb);
        return this.ask(
          { kind: 'mail', verb: c.verb, reversePath: c.reversePath, parameters: c.parameters },
          c.verb,
        );
      case 'RCPT': {
        const tx = this.transaction;
        if (tx === null) return this.emit(reply('badSequence'), c.verb);
        tx.rcptTried += 1;
        // RFC 5321 §4.5.3.1.8: the 101st recipient gets 452 and the transaction goes on.
        if (tx.recipients.length >= this.limits.recipients)
          return this.emit(reply('tooManyRecipients'), c.verb);
        const recipient: Recipient = { forwardPath: c.forwardPath, parameters: c.parameters };
        return this.ask({ kind: 'rcpt', recipient, transaction: snapshot(tx) }, c.verb);
      }
      case 'DATA': {
        const tx = this.transaction;
        if (tx === null) return this.emit(reply('badSequence'), c.verb);
        if (tx.recipients.length === 0) {
          return this.emit(reply(tx.rcptTried > 0 ? 'noValidRecipients' : 'badSequence'), c.verb);
        }
        this.emit(reply('startData'), c.verb);
        this.phaseValue = 'data';
        this.data = new DataReader({
          textLine: this.limits.textLine,
          messageSize: this.limits.messageSize,
        });
        const end = this.data.push(this.lines.takeBuffered());
        if (end !== null) this.finishData(end);
        return;
      }
      case 'RSET':
        this.resetTransaction();
        return this.emit(reply('ok'), c.verb);
      case 'NOOP':
        return this.emit(reply('ok'), c.verb);
      case 'HELP':
        return this.emit(reply('help'), c.verb);
      case 'VRFY':
        return this.emit(reply('cannotVrfy'), c.verb);
      case 'EXPN':
        if (this.options.expn !== true) return this.emit(reply('notImplemented'), c.verb);
        return this.ask({ kind: 'expn', argument: c.argument }, c.verb);
      case 'TURN':
        // RFC 2821 §4.1.1 deprecated TURN: unauthenticated role reversal is a hijack.
        if (this.options.turn !== true) return this.emit(reply('notImplemented'), c.verb);
        if (this.authenticatedAs === null) return this.emit(reply('authRequired'), c.verb);
        if (this.transaction !== null) return this.emit(reply('badSequence'), c.verb);
        return this.ask({ kind: 'turn' }, c.verb);
      case 'QUIT':
        this.emit(reply('closing', `${this.options.hostname} Bye`), c.verb);
        return this.close();
      case 'STARTTLS':
        if (this.options.starttls !== true && !this.tls)
          return this.emit(reply('notImplemented'), c.verb);
        if (this.tls || this.transaction !== null) return this.emit(reply('badSequence'), c.verb);
        this.emit(reply('readyToStartTls'), c.verb);
        // RFC 3207 §4.2: anything pipelined behind STARTTLS in plaintext is discarded.
        this.lines.takeBuffered();
        this.phaseValue = 'tls';
        this.out.push({ kind: 'start-tls' });
        return;
      case 'AUTH':
        return this.auth(c.mechanism, c.initialResponse);
    }
  }

  private ehloLines(): string[] {
    const lines = [
      this.options.hostname,
      'PIPELINING',
      `SIZE ${this.limits.messageSize}`,
      '8BITMIME',
      'ENHANCEDSTATUSCODES',
    ];
    if (this.options.smtputf8 !== false) lines.push('SMTPUTF8');
    if (this.options.starttls === true && !this.tls) lines.push('STARTTLS');
    if (this.authOffered()) lines.push(`AUTH ${SASL_MECHANISMS.join(' ')}`);
    // RFC 1869 §4.5: the keywords of RFC 821's optional commands that are implemented.
    lines.push('SEND', 'SOML', 'SAML', 'HELP');
    if (this.options.expn === true) lines.push('EXPN');
    if (this.options.turn === true) lines.push('TURN');
    return lines;
  }

  // ---- DATA ----

  private dataEnded(end: DataEnd | null): ServerOutput[] {
    if (end === null) return [];
    this.finishData(end);
    return this.run();
  }

  private finishData(end: DataEnd): void {
    this.data = null;
    this.phaseValue = 'command';
    // Pipelined commands after the end of data go back to the line reader, ahead of anything newer.
    const later = this.lines.takeBuffered();
    this.lines.push(end.rest);
    if (later.length > 0) this.lines.push(later);
    const tx = this.transaction!;
    if (end.violation !== null) {
      this.resetTransaction();
      const name =
        end.violation === 'too-big'
          ? 'messageTooBig'
          : end.violation === 'line-too-long'
            ? 'dataLineTooLong'
            : 'dataBareLineEnding';
      this.emit(reply(name), 'DATA');
      return;
    }
    this.ask({ kind: 'store', transaction: snapshot(tx), body: end.body, size: end.size }, 'DATA');
  }

  // ---- AUTH (RFC 4954) ----

  private auth(mechanism: string, initialResponse: string | null): void {
    const auth = this.options.auth ?? 'tls';
    if (auth === 'never') return this.emit(reply('notImplemented'), 'AUTH');
    if (!this.authOffered()) return this.emit(reply('encryptionRequired'), 'AUTH');
    if (this.greeted !== 'EHLO' || this.transaction !== null)
      return this.emit(reply('badSequence'), 'AUTH');
    if (this.authenticatedAs !== null) return this.emit(reply('alreadyAuthenticated'), 'AUTH');
    if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism))
      return this.emit(reply('unknownAuthMechanism'), 'AUTH');
    this.lines.maxLength = this.limits.authLine;
    this.authStep =
      mechanism === 'PLAIN' ? { mechanism: 'PLAIN' } : { mechanism: 'LOGIN', username: null };
    if (initialResponse === null) {
      this.phaseValue = 'auth';
      this.emit(
        reply('authChallenge', mechanism === 'PLAIN' ? '' : LOGIN_USERNAME_CHALLENGE),
        'AUTH',
      );
      return;
    }
    this.phaseValue = 'auth';
    this.authLine(initialResponse);
  }

  private authLine(text: string): void {
    const step = this.authStep!;
    if (text === '*') return this.authFailedWith(reply('authCancelled'));
    const decoded = decodeSaslResponse(text);
    if (decoded === null) return this.authFailedWith(reply('badBase64'));
    if (step.mechanism === 'LOGIN' && step.username === null) {
      step.username = decoded;
      this.emit(reply('authChallenge', LOGIN_PASSWORD_CHALLENGE), 'AUTH');
      return;
    }
    const credentials =
      step.mechanism === 'PLAIN'
        ? parsePlainResponse(decoded)
        : step.username === '' || decoded === ''
          ? null
          : {
              mechanism: 'LOGIN' as SaslMechanism,
              authorizationId: '',
              username: step.username!,
              password: decoded,
            };
    this.endAuthExchange();
    if (credentials === null) return this.emit(reply('authFailed'), 'AUTH');
    this.ask({ kind: 'auth', credentials }, 'AUTH');
  }

  private authFailedWith(r: Reply): void {
    this.endAuthExchange();
    this.emit(r, 'AUTH');
  }

  private endAuthExchange(): void {
    this.authStep = null;
    this.lines.maxLength = this.limits.commandLine;
    this.phaseValue = 'command';
  }
}

function snapshot(tx: OpenTransaction) {
  return {
    verb: tx.verb,
    reversePath: tx.reversePath,
    parameters: tx.parameters,
    recipients: [...tx.recipients],
  };
}
