// One SMTP connection: the thin I/O host around libs/smtp's ServerSession. It
// owns the socket, the PROXY header, the STARTTLS upgrade and the RFC 5321
// §4.5.3.2 timers; it asks the session policy every question and writes every
// reply through one function, which also counts the reply metric.
//
// Invariants:
// - While a question is open the socket is paused: a pipelining client cannot
//   make ingress buffer without bound (the session holds what already came).
// - A policy that throws or rejects is our fault: the session gets a defer
//   (4yz), never a 5yz and never a 250.
// - After the PROXY header the session sees the real client address; a PROXY
//   header from an address that is not a configured load balancer, or a
//   malformed one, closes the connection before the greeting.
//
// Does not: decide relay permission or store (session-policy.ts), listen or
// drain a listener (smtp-listener.ts).

import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import {
  customReply,
  ServerSession,
  type Question,
  type Reply,
  type ServerOptions,
  type ServerOutput,
  type Verdict,
} from '@petrel/smtp';
import type { Logger } from '@petrel/observability';
import type { IngressMetrics } from './ingress-metrics.js';
import { parseProxyHeader } from './policy/proxy-protocol.js';
import type { NetworkList } from './policy/networks.js';

/** What the policy knows about a connection. */
export interface ConnectionInfo {
  readonly id: string;
  readonly listener: string;
  /** The client: the socket peer, or the PROXY header's source. */
  address: string;
  port: number;
  proxied: boolean;
  tls: { protocol: string; cipher: string } | null;
  readonly session: ServerSession;
}

export interface SessionPolicy {
  /** Before the greeting: null to greet, or the reply that refuses the connection. */
  connect(info: ConnectionInfo): Promise<Reply | null>;
  answer(question: Question, info: ConnectionInfo): Promise<Verdict>;
  disconnected(info: ConnectionInfo): void;
}

export interface ConnectionOptions {
  readonly listener: string;
  readonly session: ServerOptions;
  readonly policy: SessionPolicy;
  readonly timeouts: { readonly commandMs: number; readonly dataMs: number };
  readonly proxy: { readonly enabled: boolean; readonly loadBalancers: NetworkList };
  readonly tlsContext: () => SecureContext | null;
  readonly metrics: IngressMetrics;
  readonly logger: Logger;
}

const PROXY_HEADER_TIMEOUT_MS = 10_000;

export class SmtpConnection {
  readonly info: ConnectionInfo;
  private socket: Socket;
  private readonly options: ConnectionOptions;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private ending = false;
  private counted = false;
  private connectCalled = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(socket: Socket, id: string, options: ConnectionOptions) {
    this.socket = socket;
    this.options = options;
    this.info = {
      id,
      listener: options.listener,
      address: normaliseAddress(socket.remoteAddress ?? ''),
      port: socket.remotePort ?? 0,
      proxied: false,
      tls: null,
      session: new ServerSession({
        ...options.session,
        starttls: options.tlsContext() !== null,
      }),
    };
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    socket.setNoDelay(true);
    socket.on('error', (err) =>
      options.logger.debug({ conn: id, err: err.message }, 'socket error'),
    );
    socket.on('close', () => this.finish());
  }

  /** Resolves when the connection is gone. */
  get closedPromise(): Promise<void> {
    return this.done;
  }

  get inTransaction(): boolean {
    return this.info.session.inTransaction;
  }

  async start(): Promise<void> {
    if (this.options.proxy.enabled && !(await this.readProxyHeader())) return;
    let refusal: Reply | null;
    this.connectCalled = true;
    try {
      refusal = await this.options.policy.connect(this.info);
    } catch {
      // Our own trouble (Redis unreachable for the limits): 421 for a new session.
      refusal = customReply(421, '4.3.0', 'Service temporarily unavailable, try again later');
    }
    if (this.closed) return;
    this.counted = true;
    this.options.metrics.sessionsTotal.inc({ listener: this.info.listener });
    this.options.metrics.sessionsActive.inc({ listener: this.info.listener });
    if (refusal !== null) {
      // Reading on, so that the client's close is seen and the socket released
      // (a paused socket never notices it); what the client sends is dropped.
      this.socket.resume();
      this.write(this.info.session.refuse(refusal));
      return;
    }
    this.socket.on('data', this.onData);
    this.socket.resume();
    this.enqueue(() => this.handle(this.info.session.greet()));
  }

  /** Drain: an idle session gets 421 now; one in a transaction gets it at its next command. */
  drain(): void {
    if (this.closed) return;
    if (this.info.session.inTransaction || this.info.session.phase === 'question')
      this.info.session.drain();
    else this.enqueue(() => this.handle(this.info.session.shutdown()));
  }

  /** The grace period is over: 421 to whatever is still open, then the socket goes. */
  forceClose(): void {
    if (this.closed) return;
    this.write(this.info.session.shutdown());
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.enqueue(() => this.handle(this.info.session.receive(chunk)));
  };

  /** Serialises the work of one connection: each step runs after the previous one's answers. */
  private enqueue(step: () => Promise<void> | void): void {
    this.chain = this.chain.then(step).catch((err: unknown) => {
      this.options.logger.error({ conn: this.info.id, err: String(err) }, 'connection failed');
      this.socket.destroy();
    });
  }

  private async handle(outputs: ServerOutput[]): Promise<void> {
    let queue = outputs;
    while (queue.length > 0) {
      const next: ServerOutput[] = [];
      let pending: ServerOutput[] = [];
      for (let i = 0; i < queue.length; i++) {
        const o = queue[i]!;
        if (o.kind === 'question') {
          this.write(pending);
          pending = [];
          next.push(...(await this.ask(o.question)), ...queue.slice(i + 1));
          break;
        }
        if (o.kind === 'start-tls') {
          this.write(pending);
          pending = [];
          next.push(...(await this.startTls()), ...queue.slice(i + 1));
          break;
        }
        pending.push(o);
      }
      this.write(pending);
      queue = next;
    }
    this.armTimer();
  }

  private async ask(question: Question): Promise<ServerOutput[]> {
    this.socket.pause();
    this.clearTimer();
    let verdict: Verdict;
    try {
      verdict = await this.options.policy.answer(question, this.info);
    } catch (err) {
      this.options.logger.error(
        { conn: this.info.id, question: question.kind, err: String(err) },
        'policy failed',
      );
      verdict = { kind: 'defer' };
    }
    if (!this.closed) this.socket.resume();
    return this.info.session.answer(verdict);
  }

  private async startTls(): Promise<ServerOutput[]> {
    const context = this.options.tlsContext();
    if (context === null) return this.info.session.shutdown();
    this.socket.removeListener('data', this.onData);
    const secure = new TLSSocket(this.socket, { isServer: true, secureContext: context });
    secure.on('error', (err) => {
      this.options.logger.info({ conn: this.info.id, err: err.message }, 'TLS handshake failed');
      secure.destroy();
    });
    const ok = await new Promise<boolean>((resolve) => {
      secure.once('secure', () => resolve(true));
      secure.once('close', () => resolve(false));
    });
    if (!ok) return [];
    this.socket = secure;
    const cipher = secure.getCipher();
    this.info.tls = {
      protocol: secure.getProtocol() ?? 'unknown',
      cipher: cipher.standardName ?? cipher.name,
    };
    this.options.metrics.tlsSessions.inc({ listener: this.info.listener });
    secure.on('data', this.onData);
    return this.info.session.tlsStarted();
  }

  /** Every reply leaves through here. */
  private write(outputs: ServerOutput[]): void {
    let text = '';
    let close = false;
    for (const o of outputs) {
      if (o.kind === 'reply') {
        text += o.text;
        this.options.metrics.replies.inc({ verb: o.verb ?? 'none', code: String(o.reply.code) });
      } else if (o.kind === 'close' || o.kind === 'turn') {
        close = true;
      }
    }
    if (this.closed || this.ending) return;
    if (close) {
      this.clearTimer();
      this.ending = true;
      this.socket.end(text);
    } else if (text !== '') {
      this.socket.write(text);
    }
  }

  private armTimer(): void {
    this.clearTimer();
    if (this.closed) return;
    const kind = this.info.session.timeoutKind;
    if (kind === null) return;
    const ms =
      kind === 'data-block' ? this.options.timeouts.dataMs : this.options.timeouts.commandMs;
    this.timer = setTimeout(() => this.enqueue(() => this.write(this.info.session.timeout())), ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async readProxyHeader(): Promise<boolean> {
    const peer = this.info.address;
    if (!this.options.proxy.loadBalancers.contains(peer)) {
      this.options.logger.warn(
        { conn: this.info.id, peer },
        'PROXY listener: peer is not a configured load balancer',
      );
      this.options.metrics.rejects.inc({ reason: 'proxy' });
      this.socket.destroy();
      return false;
    }
    let buffered = Buffer.alloc(0);
    const result = await new Promise<ReturnType<typeof parseProxyHeader> | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), PROXY_HEADER_TIMEOUT_MS);
      const onData = (chunk: Buffer): void => {
        buffered = Buffer.concat([buffered, chunk]);
        const parsed = parseProxyHeader(buffered);
        if (parsed.kind === 'need-more') return;
        clearTimeout(timer);
        this.socket.removeListener('data', onData);
        this.socket.pause();
        resolve(parsed);
      };
      this.socket.on('data', onData);
      this.socket.once('close', () => resolve(null));
      this.socket.resume();
    });
    if (result === null || result.kind !== 'ok') {
      this.options.logger.warn(
        {
          conn: this.info.id,
          peer,
          reason:
            result === null
              ? 'no header'
              : result.kind === 'invalid'
                ? result.message
                : 'incomplete',
        },
        'PROXY header refused',
      );
      this.options.metrics.rejects.inc({ reason: 'proxy' });
      this.socket.destroy();
      return false;
    }
    // LOCAL or UNKNOWN (a load balancer's health check) carries no client: the
    // load balancer's own address must not earn it relay permission.
    this.info.address =
      result.source === null ? 'unknown' : normaliseAddress(result.source.address);
    this.info.port = result.source?.port ?? 0;
    this.info.proxied = true;
    // Bytes after the header are the client's (it may speak first, though it should not): keep them.
    const rest = buffered.subarray(result.consumed);
    if (rest.length > 0) this.socket.unshift(rest);
    return true;
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    if (this.counted) this.options.metrics.sessionsActive.dec({ listener: this.info.listener });
    if (this.connectCalled) this.options.policy.disconnected(this.info);
    this.resolveDone();
  }
}

/** "::ffff:192.0.2.1" → "192.0.2.1": one spelling per client for limits and logs. */
export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
