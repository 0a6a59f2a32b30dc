// One SMTP session with a next hop: the production I/O host of libs/smtp's
// ClientDialog. It owns the socket, STARTTLS and its certificate check, the
// RFC 5321 §4.5.3.2 timers and write backpressure; the dialog decides every
// byte written and what every reply means.
//
// Invariants:
// - Nothing is written after the dialog's `failed` or `close`; then the socket
//   is destroyed (after a QUIT the dialog wrote on failing, it is ended and
//   destroyed at most LINGER_MS later, so the QUIT can leave).
// - A timeout, a socket error (ECONNRESET, EPIPE) or the next hop closing is
//   dialog.connectionLost(): pending recipients get a synthetic 421 4.4.2,
//   whose text says what happened (next-hop-replies.ts).
// - send() resolves exactly once with one outcome per recipient and never
//   rejects for anything the next hop does; it rejects only for misuse (a
//   second operation while one runs, a transaction the dialog refuses).
// - A reply to the end of data that arrives while the message is still being
//   written is no verdict on it: its recipients get a synthetic 451 4.5.0 and
//   the session ends (a retry may duplicate the message, never lose it).
// - Listeners are attached once per socket (TCP, then TLS), never per send(),
//   so a reused connection accumulates none.
// - TLS 'required' verifies the certificate against target.host (SNI too,
//   unless it is an IP, RFC 6066 §3) with `ca` or Node's CAs; a certificate
//   that does not verify fails the session with 451 4.7.5 before anything else
//   is sent. 'opportunistic' does not verify (RFC 7435 §1.3) but records
//   whether the certificate would have.
//
// Timers (timeouts.ts; the clock restarts when a reply completes, a blocked
// write drains or a batch is written, never on a partial reply):
//   connecting                      connectMs
//   awaiting the 220                greetingMs
//   a reply to EHLO/HELO/STARTTLS/AUTH/RSET/MAIL/RCPT/NOOP/QUIT, TLS handshake
//                                   commandMs (oldest unanswered command first,
//                                   awaited-replies.ts, also when pipelined)
//   the 354 after DATA              dataStartMs
//   a write stalled until 'drain'   dataBlockMs (before any reply wait)
//   the reply to the final dot      dataEndMs
//   QUIT from close()               min(commandMs, QUIT_WAIT_MS)
//   idle (ready)                    none: idle time is the caller's business
//
// Does not: resolve names (target.address is an IP egress resolved), retry,
// pick the next MX, split recipients, classify replies.

import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import {
  ClientDialog,
  clientReplies,
  NO_EXTENSIONS,
  type ClientOutput,
  type Extensions,
  type FailureStage,
  type OutboundTransaction,
  type RecipientOutcome,
  type Reply,
  type TransactionVerb,
} from '@petrel/smtp';
import { AwaitedReplies } from './awaited-replies.js';
import { nextHopReplies } from './next-hop-replies.js';
import { SocketWriter } from './socket-writer.js';
import {
  DEFAULT_TIMEOUTS,
  describeWait,
  timeoutFor,
  type NextHopTimeouts,
  type Wait,
} from './timeouts.js';

export interface NextHopTarget {
  /** The host name (MX exchange or configured host), for TLS SNI and certificate verification; or an IP. */
  readonly host: string;
  /** The IP address to connect to (egress resolved it). */
  readonly address: string;
  readonly port: number;
}

export interface NextHopOptions {
  readonly target: NextHopTarget;
  readonly heloName: string;
  readonly tls: 'none' | 'opportunistic' | 'required';
  /**
   * For 'required': verify the certificate against target.host with these CAs
   * (default: Node's). Opportunistic TLS does not verify (RFC 7435), but
   * records whether it verified (against these CAs when given).
   */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  readonly credentials?: { username: string; password: string } | null;
  readonly timeouts?: Partial<NextHopTimeouts>;
  readonly localAddress?: string;
}

export type OpenResult =
  | { ok: true; connection: NextHopConnection }
  | { ok: false; stage: FailureStage | 'connect'; reply: Reply; synthetic: boolean };

export interface SendResult {
  outcomes: RecipientOutcome[];
  verbUsed: TransactionVerb;
}

export interface NextHopTls {
  readonly protocol: string;
  readonly cipher: string;
  /** The certificate verified against target.host (always true for 'required'). */
  readonly verified: boolean;
}

/** close() waits at most this long (or commandMs when shorter) for the reply to QUIT. */
const QUIT_WAIT_MS = 3_000;
/** After a QUIT written on failing: how long the socket may stay to send it. */
const LINGER_MS = 1_000;
const QUIT_LINE = Buffer.from('QUIT\r\n', 'latin1');

interface SessionFailure {
  readonly stage: FailureStage | 'connect';
  readonly reply: Reply;
  readonly synthetic: boolean;
}

type Waiter =
  | { readonly kind: 'open'; readonly resolve: (result: OpenResult) => void }
  | {
      readonly kind: 'send';
      readonly tx: OutboundTransaction;
      readonly resolve: (result: SendResult) => void;
    }
  | { readonly kind: 'noop'; readonly resolve: (ok: boolean) => void }
  | { readonly kind: 'close'; readonly resolve: () => void };

type Failed = Extract<ClientOutput, { kind: 'failed' }>;

export class NextHopConnection {
  readonly target: NextHopTarget;
  private readonly options: NextHopOptions;
  private readonly timeouts: NextHopTimeouts;
  private readonly dialog: ClientDialog;
  private readonly awaited = new AwaitedReplies();
  private readonly writer = new SocketWriter(() => this.progressed());
  /** The TCP socket; `socket` is the TLS one once STARTTLS began. */
  private raw!: Socket;
  private socket!: Socket;
  private connected = false;
  /** The session failed or closed: nothing more is written or settled. */
  private ended = false;
  private waiter: Waiter | null = null;
  private failure: SessionFailure | null = null;
  private lastWasQuit = false;
  private currentExtensions: Extensions = NO_EXTENSIONS;
  private tlsInfo: NextHopTls | null = null;
  private timer: NodeJS.Timeout | null = null;
  private armed: { readonly kind: Wait['kind']; readonly progress: number } | null = null;
  /** Bumped on every reply completed, batch written, drain and TLS step: restarts the clock. */
  private progress = 0;
  private linger: NodeJS.Timeout | null = null;
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(options: NextHopOptions) {
    this.options = options;
    this.target = { ...options.target };
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.dialog = new ClientDialog({
      heloName: options.heloName,
      tls: options.tls,
      credentials: options.credentials ?? null,
    });
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /**
   * Connects, reads the greeting, says EHLO (STARTTLS and AUTH as configured)
   * and resolves when the session is ready, or with why it is not. Rejects
   * only for misuse: an address that is not an IP, a bad HELO name or port.
   */
  static open(options: NextHopOptions): Promise<OpenResult> {
    if (isIP(options.target.address) === 0) {
      return Promise.reject(
        new RangeError(`target.address must be an IP address: ${options.target.address}`),
      );
    }
    try {
      return new NextHopConnection(options).start();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  get extensions(): Extensions {
    return this.currentExtensions;
  }

  get tls(): NextHopTls | null {
    return this.tlsInfo;
  }

  /** true while the session is ready for another send() (not failed, not closed, not busy). */
  get reusable(): boolean {
    return !this.ended && this.waiter === null && this.dialog.state === 'ready';
  }

  /**
   * Replays one transaction; one outcome per recipient (ClientDialog's
   * transaction-done). When the session fails during it, every recipient
   * without a reply gets the failure's reply (synthetic when made up, stage
   * 'connection'); when it had already failed (the next hop closed an idle
   * connection), every recipient gets that failure's reply.
   */
  send(tx: OutboundTransaction): Promise<SendResult> {
    if (this.waiter !== null) {
      return Promise.reject(new Error(`send() while ${this.waiter.kind} is in progress`));
    }
    if (this.ended || this.dialog.state !== 'ready') {
      const failure = this.failure;
      if (failure !== null) return Promise.resolve(failedAll(tx, failure));
      return Promise.reject(new Error(`send() on a session that is ${this.dialog.state}`));
    }
    let outputs: ClientOutput[];
    try {
      outputs = this.dialog.send(tx);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return new Promise((resolve) => {
      this.waiter = { kind: 'send', tx, resolve };
      this.act(outputs);
    });
  }

  /** NOOP keep-alive: true when answered 2yz; false when not ready or the session failed. */
  noop(): Promise<boolean> {
    if (!this.reusable) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.waiter = { kind: 'noop', resolve };
      this.act(this.dialog.noop());
    });
  }

  /**
   * QUIT, wait for its reply (at most min(commandMs, 3 s)), then destroy.
   * While another operation runs, or after a failure, it is destroy().
   * Resolves when the socket is closed.
   */
  async close(): Promise<void> {
    if (this.reusable) {
      await new Promise<void>((resolve) => {
        this.waiter = { kind: 'close', resolve };
        this.act(this.dialog.quit());
      });
    }
    this.destroy();
    await this.closed;
  }

  /** Destroys the socket now; a running operation settles as if the connection were lost. */
  destroy(): void {
    this.lost('closed by Petrel');
    this.teardown(false);
  }

  // --- life cycle ------------------------------------------------------------

  private start(): Promise<OpenResult> {
    const { address, port } = this.target;
    const { localAddress } = this.options;
    const socket = connect({ host: address, port, ...(localAddress ? { localAddress } : {}) });
    this.raw = this.socket = socket;
    return new Promise((resolve) => {
      this.waiter = { kind: 'open', resolve };
      socket.on('error', this.onError);
      socket.on('close', this.onClose);
      socket.once('connect', this.onConnect);
      this.arm();
    });
  }

  private readonly onConnect = (): void => {
    if (this.ended) return;
    this.connected = true;
    this.raw.setNoDelay(true);
    this.raw.on('data', this.onData);
    this.raw.on('end', this.onEnd);
    this.writer.attach(this.raw);
    this.progress++;
    this.arm();
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.ended) return;
    if (this.awaited.read(chunk) > 0) this.progress++;
    this.act(this.dialog.receive(chunk));
  };

  private readonly onEnd = (): void => this.lost('closed by the next hop');

  private readonly onError = (err: Error): void => {
    if (!this.connected) this.connectFailed(describeError(err));
    else if (this.dialog.state === 'tls-handshake') this.tlsFailed(describeError(err));
    else this.lost(describeError(err));
  };

  private readonly onClose = (): void => {
    if (!this.connected) this.connectFailed('connection closed');
    else this.lost('connection closed');
    this.teardown(false);
    this.resolveClosed();
  };

  private progressed(): void {
    this.progress++;
    this.arm();
  }

  // --- the dialog's outputs --------------------------------------------------

  private act(outputs: readonly ClientOutput[]): void {
    let desynchronised = false;
    for (const output of outputs) {
      switch (output.kind) {
        case 'send':
          if (this.ended) break;
          this.lastWasQuit = output.data.length === 1 && output.data[0]!.equals(QUIT_LINE);
          this.awaited.wrote(output.data);
          this.writer.write(output.data);
          this.progress++;
          break;
        case 'start-tls':
          this.startTls();
          break;
        case 'ready': {
          this.currentExtensions = output.extensions;
          const waiter = this.waiter;
          if (waiter?.kind === 'open') {
            this.waiter = null;
            waiter.resolve({ ok: true, connection: this });
          } else if (waiter?.kind === 'noop') {
            this.waiter = null;
            waiter.resolve(true);
          }
          break;
        }
        case 'transaction-done': {
          // A reply to the end of data while the message is still being
          // written answers bytes the next hop has not seen: out of step.
          const early = this.writer.stalled;
          const outcomes = early ? premature(output.outcomes) : output.outcomes;
          const waiter = this.waiter;
          if (waiter?.kind === 'send') {
            this.waiter = null;
            waiter.resolve({ outcomes, verbUsed: output.verbUsed });
          }
          if (early) desynchronised = true;
          break;
        }
        case 'failed':
          this.failure = { stage: output.stage, reply: output.reply, synthetic: output.synthetic };
          this.teardown(this.lastWasQuit);
          this.settleEnded();
          break;
        case 'close':
          this.teardown(false);
          this.settleEnded();
          break;
      }
    }
    if (desynchronised) this.lost('it replied to the end of data before the message was written');
    this.arm();
  }

  /** The session ended: whatever waits learns how. */
  private settleEnded(): void {
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter === null) return;
    const failure = this.failure ?? {
      stage: 'idle',
      reply: nextHopReplies.connectionLost(this.target, 'session closed'),
      synthetic: true,
    };
    switch (waiter.kind) {
      case 'open':
        waiter.resolve({ ok: false, ...failure });
        break;
      case 'send':
        // Unreachable: the dialog settles a running transaction before `failed`.
        waiter.resolve(failedAll(waiter.tx, failure));
        break;
      case 'noop':
        waiter.resolve(false);
        break;
      case 'close':
        waiter.resolve();
        break;
    }
  }

  // --- failures --------------------------------------------------------------

  private connectFailed(cause: string): void {
    if (this.ended) return;
    const reply = nextHopReplies.connectFailed(this.target, cause);
    this.failure = { stage: 'connect', reply, synthetic: true };
    this.teardown(false);
    this.settleEnded();
  }

  /** The connection is gone or timed out: the dialog's connectionLost(), its reply naming the cause. */
  private lost(cause: string): void {
    if (this.ended) return;
    const outputs = this.dialog.connectionLost();
    const generic = outputs.find((o): o is Failed => o.kind === 'failed')?.reply;
    if (generic === undefined) {
      this.act(outputs);
      return;
    }
    const detailed = nextHopReplies.connectionLost(this.target, cause);
    this.act(
      outputs.map((o): ClientOutput => {
        if (o.kind === 'failed' && o.reply === generic) return { ...o, reply: detailed };
        if (o.kind !== 'transaction-done') return o;
        return {
          ...o,
          outcomes: o.outcomes.map((r) => (r.reply === generic ? { ...r, reply: detailed } : r)),
        };
      }),
    );
  }

  /** STARTTLS's handshake failed, or the certificate did not verify when required. */
  private tlsFailed(cause: string): void {
    if (this.ended) return;
    const reply = nextHopReplies.tlsFailed(this.target, cause);
    this.lastWasQuit = false;
    this.act(
      this.dialog
        .connectionLost()
        .map((o): ClientOutput => (o.kind === 'failed' ? { ...o, reply, synthetic: true } : o)),
    );
  }

  /** Nothing more is written; the sockets go now, or LINGER_MS after ending when a QUIT was written. */
  private teardown(graceful: boolean): void {
    this.ended = true;
    this.disarm();
    this.writer.stop();
    if (!graceful) this.destroySockets();
    else if (this.linger === null && !this.socket.destroyed) {
      this.socket.end();
      this.linger = setTimeout(() => this.destroySockets(), LINGER_MS);
      this.linger.unref();
    }
  }

  private destroySockets(): void {
    if (this.linger !== null) clearTimeout(this.linger);
    this.socket.destroy();
    if (this.raw !== this.socket) this.raw.destroy();
  }

  // --- TLS -------------------------------------------------------------------

  private startTls(): void {
    const raw = this.raw;
    // Nothing more is read in plaintext (RFC 3207 §4.2): the TLS socket takes the bytes over.
    raw.removeListener('data', this.onData);
    raw.removeListener('end', this.onEnd);
    const { host } = this.target;
    const ca = this.options.ca;
    const options: ConnectionOptions = {
      socket: raw,
      // The name checked against the certificate; SNI only for a name, never an IP.
      host,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(ca === undefined
        ? {}
        : { ca: typeof ca === 'string' || Buffer.isBuffer(ca) ? ca : [...ca] }),
      rejectUnauthorized: this.options.tls === 'required',
    };
    const secure = tlsConnect(options);
    this.socket = secure;
    secure.on('error', this.onError);
    secure.on('close', this.onClose);
    secure.once('secureConnect', () => this.secured(secure));
    this.progress++;
  }

  private secured(secure: TLSSocket): void {
    if (this.ended) return;
    const verified = secure.authorized;
    if (this.options.tls === 'required' && !verified) {
      // Unreachable with rejectUnauthorized, kept as the last word on 'required'.
      this.tlsFailed(`certificate not verified: ${String(secure.authorizationError)}`);
      return;
    }
    this.tlsInfo = {
      protocol: secure.getProtocol() ?? 'unknown',
      cipher: secure.getCipher().name,
      verified,
    };
    secure.on('data', this.onData);
    secure.on('end', this.onEnd);
    this.writer.attach(secure);
    this.awaited.tlsStarted();
    this.progress++;
    this.act(this.dialog.tlsStarted());
  }

  // --- timers ----------------------------------------------------------------

  /** What the connection waits for now; null when nothing (idle, ended). */
  private currentWait(): Wait | null {
    if (this.ended) return null;
    if (!this.connected) return { kind: 'connect' };
    if (this.writer.stalled) return { kind: 'data-block' };
    const state = this.dialog.state;
    if (state === 'tls-handshake') return { kind: 'tls-handshake' };
    if (state === 'ready' || state === 'closed' || state === 'failed') return null;
    return this.awaited.head ?? { kind: 'reply', verb: state.toUpperCase() };
  }

  /** Keeps the running timer while the wait and progress are unchanged; otherwise starts the one that applies. */
  private arm(): void {
    const wait = this.currentWait();
    if (wait === null) {
      this.disarm();
      return;
    }
    const armed = this.armed;
    if (armed !== null && armed.kind === wait.kind && armed.progress === this.progress) return;
    this.disarm();
    const limit = timeoutFor(wait, this.timeouts);
    const ms = this.dialog.state === 'quit' ? Math.min(limit, QUIT_WAIT_MS) : limit;
    this.armed = { kind: wait.kind, progress: this.progress };
    this.timer = setTimeout(() => this.timedOut(wait, ms), ms);
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armed = null;
  }

  private timedOut(wait: Wait, ms: number): void {
    this.timer = null;
    this.armed = null;
    const cause = `timed out after ${ms} ms ${describeWait(wait)}`;
    if (wait.kind === 'connect') this.connectFailed(cause);
    else this.lost(cause);
  }
}

/** Every recipient given the reply that ended the session. */
function failedAll(tx: OutboundTransaction, failure: SessionFailure): SendResult {
  return {
    outcomes: tx.recipients.map((recipient) => ({
      recipient,
      stage: 'connection',
      reply: failure.reply,
      synthetic: failure.synthetic,
    })),
    verbUsed: tx.verb,
  };
}

/**
 * The outcomes of a transaction whose end-of-data reply came before the
 * message was written: that reply is not the next hop's verdict on the
 * message, so the recipients it decided get a synthetic 4yz (a retry may
 * duplicate, never lose); their RCPT or MAIL refusals stand.
 */
function premature(outcomes: RecipientOutcome[]): RecipientOutcome[] {
  const reply = clientReplies.protocolViolation('reply to the end of data before it was sent');
  return outcomes.map((o) =>
    o.stage === 'data' ? { ...o, stage: 'connection', reply, synthetic: true } : o,
  );
}

/** A system error by its code (ECONNREFUSED), others by message and code. */
function describeError(err: Error): string {
  const { code, syscall } = err as NodeJS.ErrnoException;
  if (code !== undefined && syscall !== undefined) return code;
  return code === undefined ? err.message : `${err.message} (${code})`;
}
