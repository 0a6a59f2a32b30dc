// A fault-injecting SMTP next hop for egress tests, built on the npm
// smtp-server (never a reverse DNS lookup: no query leaves the machine). It
// records every message it accepted exactly as received (envelope, MAIL
// parameters, body octets after dot-unstuffing, TLS, AUTH user, which
// connection), counts connections, and misbehaves on request:
//
//   - faults: at a stage (connect, ehlo, mail, rcpt, data, data-end) reply with
//     a 4yz/5yz, drop the connection, or stall for a while and then go on;
//     at most `times` times, then behave normally ("deferred twice, then
//     delivered"). The first fault in the list that applies wins.
//   - by local part, as KumoMTA's sink: RCPT tempfail-* 451 4.3.0,
//     reject-* 550 5.1.1 (after the faults; off with byLocalPart: false).
//
// Stages: 'connect' is the greeting (a reply fault refuses the session and
// closes it); 'ehlo' is every EHLO or HELO command, the one after STARTTLS
// included (so `times: 1` lets a client's HELO fallback through); 'mail' and
// 'rcpt' are those commands; 'data' is the DATA command, before 354, and only
// when some recipient was accepted (otherwise smtp-server's own 503);
// 'data-end' is the reply after the final dot, given once the whole message
// has been read. `match` is a prefix of a local part (case-insensitive): the
// sender's at 'mail', the recipient's at 'rcpt', any accepted recipient's at
// 'data' and 'data-end' (one reply for the whole message); it is refused for
// 'connect' and 'ehlo'. A message is recorded only when its 250 after DATA is
// sent on a connection that is still open.
//
// Does not: relay, speak LMTP, offer implicit TLS, DSN or REQUIRETLS, or
// listen beyond the host given. The 'ehlo' and 'data' stages wrap
// smtp-server's per-connection command handlers (handler_EHLO, handler_HELO,
// handler_DATA), which its typings declare but its documentation does not:
// the spec covers both, so an upgrade that renames them fails loudly. AUTH is
// offered before STARTTLS only when no TLS is configured. The listener and
// the accepted sockets are unref'd: a sink a test forgets to close does not
// keep the test process alive.

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

export interface SinkMessage {
  /** The reverse-path's address, '' for <>. */
  readonly mailFrom: string;
  /** MAIL parameters, upper-case keys: { BODY: '8BITMIME', SIZE: '123', SMTPUTF8: true }. */
  readonly mailParams: Record<string, string | true>;
  /** Accepted recipients only, in order. */
  readonly rcptTo: readonly string[];
  /** Exactly the octets after DATA, dot-unstuffed, without the final ".\r\n". */
  readonly body: Buffer;
  readonly tls: boolean;
  /** The AUTH user, null without AUTH. */
  readonly user: string | null;
  /** Which connection (1-based, in order of acceptance) carried it. */
  readonly connection: number;
  /** When its 250 was sent (Date.now()). */
  readonly receivedAt: number;
}

export type SinkStage = 'connect' | 'ehlo' | 'mail' | 'rcpt' | 'data' | 'data-end';

export type SinkAction = { reply: number; text?: string } | { drop: true } | { stallMs: number };

export interface SinkFault {
  readonly stage: SinkStage;
  /** Only when a local part starts with this (see the header for whose, per stage). */
  readonly match?: string;
  /** Reply with this code (4yz or 5yz) and text, drop the connection, or answer nothing for ms and go on. */
  readonly action: SinkAction;
  /** Apply at most this many times, then behave normally. Default: always. */
  readonly times?: number;
}

export interface SinkOptions {
  /** Default 127.0.0.1; 127.0.0.2 and so on for a second MX host. */
  readonly host?: string;
  /** Default: a free one. */
  readonly port?: number;
  readonly faults?: readonly SinkFault[];
  /** tempfail-* → 451 4.3.0 and reject-* → 550 5.1.1 at RCPT. Default true. */
  readonly byLocalPart?: boolean;
  /** PEM key and certificate: offer STARTTLS. */
  readonly tls?: { key: Buffer | string; cert: Buffer | string } | null;
  /** Require AUTH PLAIN or LOGIN with these credentials before MAIL. */
  readonly auth?: { username: string; password: string } | null;
  /** Leave these out of the EHLO reply (smtp-server's hideXXX; SIZE keeps the keyword, drops the number). */
  readonly hide?: readonly ('8BITMIME' | 'SMTPUTF8' | 'PIPELINING' | 'STARTTLS' | 'SIZE')[];
  /** The SIZE limit announced and enforced (552 5.3.4 after DATA). */
  readonly size?: number;
  /** Text after "<name> ESMTP" in the greeting. */
  readonly banner?: string;
}

export interface TestSink {
  readonly host: string;
  readonly port: number;
  readonly messages: readonly SinkMessage[];
  /** Connections accepted so far. */
  readonly connections: number;
  /** The most connections open at once. */
  readonly maxConcurrent: number;
  /** Connections open now. */
  readonly open: number;
  /** Replaces the faults and starts their `times` afresh. */
  setFaults(faults: readonly SinkFault[]): void;
  /** Resolves when `count` messages have been received; rejects after timeoutMs (default 10 s). */
  waitForMessages(count: number, timeoutMs?: number): Promise<readonly SinkMessage[]>;
  /** Stops listening and destroys the open connections. */
  close(): Promise<void>;
}

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_WAIT_MS = 10_000;
const SERVER_NAME = 'sink.petrel.test';
const STAGES: readonly SinkStage[] = ['connect', 'ehlo', 'mail', 'rcpt', 'data', 'data-end'];
const HIDE_OPTION = {
  '8BITMIME': 'hide8BITMIME',
  SMTPUTF8: 'hideSMTPUTF8',
  PIPELINING: 'hidePIPELINING',
  STARTTLS: 'hideSTARTTLS',
  SIZE: 'hideSize',
} as const;

type SmtpConnection = SMTPServer['connections'] extends Set<infer C> ? C : never;

interface ConnectionState {
  readonly number: number;
  readonly raw: Socket;
  /** The TLS socket once STARTTLS completed, else the raw one. */
  top: Socket;
  closed: boolean;
  /** Settles once the connection is closed. */
  readonly gone: Promise<void>;
  readonly settle: () => void;
}

interface Armed {
  readonly fault: SinkFault;
  used: number;
}

interface Waiter {
  readonly count: number;
  readonly resolve: (messages: readonly SinkMessage[]) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

function refusal(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

function localPart(address: string): string {
  const at = address.lastIndexOf('@');
  return (at < 0 ? address : address.slice(0, at)).toLowerCase();
}

function defaultText(stage: SinkStage, code: number): string {
  const enhanced = stage === 'connect' || stage === 'ehlo' ? '' : `${Math.floor(code / 100)}.0.0 `;
  return `${enhanced}Injected fault at ${stage}`;
}

function checkFaults(faults: readonly SinkFault[]): void {
  for (const fault of faults) {
    const where = `test sink fault at ${String(fault.stage)}`;
    if (!STAGES.includes(fault.stage)) throw new TypeError(`${where}: unknown stage`);
    if (fault.match !== undefined && (fault.stage === 'connect' || fault.stage === 'ehlo'))
      throw new TypeError(`${where}: match has no local part to look at`);
    if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times > 0))
      throw new TypeError(`${where}: times must be a positive integer`);
    const action = fault.action;
    if (
      'reply' in action &&
      !(Number.isInteger(action.reply) && action.reply >= 400 && action.reply < 600)
    )
      throw new TypeError(`${where}: reply must be a 4yz or 5yz code`);
    if ('stallMs' in action && !(Number.isFinite(action.stallMs) && action.stallMs >= 0))
      throw new TypeError(`${where}: stallMs must be a non-negative number`);
  }
}

export async function startTestSink(options: SinkOptions = {}): Promise<TestSink> {
  const host = options.host ?? DEFAULT_HOST;
  const byLocalPart = options.byLocalPart ?? true;
  const messages: SinkMessage[] = [];
  const states = new Map<string, ConnectionState>();
  const timers = new Set<NodeJS.Timeout>();
  let waiters: Waiter[] = [];
  let armed: Armed[] = [];
  let connections = 0;
  let open = 0;
  let maxConcurrent = 0;
  let closed = false;

  function setFaults(faults: readonly SinkFault[]): void {
    checkFaults(faults);
    armed = faults.map((fault) => ({ fault, used: 0 }));
  }
  setFaults(options.faults ?? []);

  /** The first fault for `stage` that still applies (and counts it), or null. */
  function take(stage: SinkStage, localParts: readonly string[] = []): SinkAction | null {
    for (const entry of armed) {
      const { fault } = entry;
      if (fault.stage !== stage || entry.used >= (fault.times ?? Infinity)) continue;
      const prefix = fault.match?.toLowerCase();
      if (prefix !== undefined && !localParts.some((part) => part.startsWith(prefix))) continue;
      entry.used++;
      return fault.action;
    }
    return null;
  }

  function later(ms: number, then: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      then();
    }, ms);
    timer.unref();
    timers.add(timer);
  }

  function markClosed(state: ConnectionState | undefined): void {
    if (state === undefined || state.closed) return;
    state.closed = true;
    open--;
    state.settle();
  }

  function drop(state: ConnectionState | undefined): void {
    if (state === undefined) return;
    state.top.destroy();
    if (state.raw !== state.top) state.raw.destroy();
  }

  /** Carries out a fault's action, or goes on when there is none. */
  function perform(
    stage: SinkStage,
    action: SinkAction | null,
    state: ConnectionState | undefined,
    proceed: () => void,
    refuse: (code: number, text: string) => void,
  ): void {
    if (action === null) proceed();
    else if ('reply' in action)
      refuse(action.reply, action.text ?? defaultText(stage, action.reply));
    else if ('drop' in action) drop(state);
    else later(action.stallMs, proceed);
  }

  function record(message: SinkMessage): void {
    messages.push(message);
    waiters = waiters.filter((waiter) => {
      if (messages.length < waiter.count) return true;
      clearTimeout(waiter.timer);
      waiter.resolve(messages.slice());
      return false;
    });
  }

  /** Faults at EHLO/HELO and at the DATA command: smtp-server has no hook there. */
  function wrapCommands(connection: SmtpConnection, state: ConnectionState): void {
    const reply = (callback: () => void) => (code: number, text: string) => {
      connection.send(code, text, false);
      callback();
    };
    for (const verb of ['EHLO', 'HELO'] as const) {
      const original = connection[`handler_${verb}`];
      connection[`handler_${verb}`] = (command, callback) =>
        perform(
          'ehlo',
          take('ehlo'),
          state,
          () => original.call(connection, command, callback),
          reply(callback),
        );
    }
    const originalData = connection.handler_DATA;
    connection.handler_DATA = (command, callback) => {
      const rcptTo = connection.session.envelope.rcptTo;
      const proceed = () => originalData.call(connection, command, callback);
      if (rcptTo.length === 0) return proceed();
      const action = take(
        'data',
        rcptTo.map((rcpt) => localPart(rcpt.address)),
      );
      perform('data', action, state, proceed, reply(callback));
    };
  }

  function receive(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (err?: Error | null, message?: string) => void,
  ): void {
    const state = states.get(session.id);
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => undefined);
    stream.on('end', () => {
      const from = session.envelope.mailFrom;
      const rcptTo = session.envelope.rcptTo.map((rcpt) => rcpt.address);
      const accept = () => {
        if (state === undefined || state.closed || closed) return;
        record({
          mailFrom: from === false ? '' : from.address,
          mailParams: from === false || from.args === false ? {} : { ...from.args },
          rcptTo,
          body: Buffer.concat(chunks),
          tls: session.secure,
          user: typeof session.user === 'string' ? session.user : null,
          connection: state.number,
          receivedAt: Date.now(),
        });
        callback(null, `2.0.0 Ok: queued as SINK${messages.length}`);
      };
      if (stream.sizeExceeded) return callback(); // smtp-server answers 552 (rejectOversized)
      const action = take('data-end', rcptTo.map(localPart));
      perform('data-end', action, state, accept, (code, text) => callback(refusal(code, text)));
    });
  }

  const hidden = Object.fromEntries((options.hide ?? []).map((name) => [HIDE_OPTION[name], true]));
  const smtp = new SMTPServer({
    name: SERVER_NAME,
    banner: options.banner,
    disableReverseLookup: true,
    logger: false,
    ...hidden,
    ...(options.size === undefined ? {} : { size: options.size, rejectOversized: true }),
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    disabledCommands: [...(options.tls ? [] : ['STARTTLS']), ...(options.auth ? [] : ['AUTH'])],
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: !options.auth,
    allowInsecureAuth: !options.tls,
    maxAllowedUnauthenticatedCommands: false,
    onConnect(session, callback) {
      perform('connect', take('connect'), states.get(session.id), callback, (code, text) =>
        callback(refusal(code, text)),
      );
    },
    onSecure(socket, session, callback) {
      const state = states.get(session.id);
      if (state !== undefined) {
        state.top = socket;
        socket.once('close', () => markClosed(state));
      }
      callback();
    },
    onAuth(auth, _session, callback) {
      const expected = options.auth;
      if (expected && auth.username === expected.username && auth.password === expected.password)
        return callback(null, { user: auth.username });
      callback(refusal(535, '5.7.8 Authentication credentials invalid'));
    },
    onMailFrom(address, session, callback) {
      perform(
        'mail',
        take('mail', [localPart(address.address)]),
        states.get(session.id),
        () => callback(),
        (code, text) => callback(refusal(code, text)),
      );
    },
    onRcptTo(address, session, callback) {
      const part = localPart(address.address);
      const byName = () => {
        if (byLocalPart && part.startsWith('tempfail-'))
          return callback(refusal(451, '4.3.0 Temporary failure (tempfail-)'));
        if (byLocalPart && part.startsWith('reject-'))
          return callback(refusal(550, '5.1.1 No such user (reject-)'));
        callback();
      };
      perform('rcpt', take('rcpt', [part]), states.get(session.id), byName, (code, text) =>
        callback(refusal(code, text)),
      );
    },
    onData: receive,
    onClose(session) {
      markClosed(states.get(session.id));
    },
  });
  smtp.on('error', () => undefined);

  const listener: Server = createServer((socket) => {
    if (closed) return void socket.destroy();
    let settle!: () => void;
    const gone = new Promise<void>((resolve) => (settle = resolve));
    const state: ConnectionState = {
      number: ++connections,
      raw: socket,
      top: socket,
      closed: false,
      gone,
      settle,
    };
    open++;
    maxConcurrent = Math.max(maxConcurrent, open);
    const id = `sink-${state.number}`;
    states.set(id, state);
    socket.once('close', () => markClosed(state));
    socket.on('error', () => undefined);
    socket.unref();
    smtp.connect(socket, { id });
    for (const connection of smtp.connections)
      if (connection.id === id) wrapCommands(connection, state);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ host, port: options.port ?? 0 }, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  listener.on('error', () => undefined);
  listener.unref();
  const port = (listener.address() as AddressInfo).port;

  return {
    host,
    port,
    messages,
    get connections() {
      return connections;
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
    get open() {
      return open;
    },
    setFaults,
    waitForMessages(count, timeoutMs = DEFAULT_WAIT_MS) {
      if (messages.length >= count) return Promise.resolve(messages.slice());
      if (closed) return Promise.reject(new Error('test sink: closed'));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((waiter) => waiter.timer !== timer);
          reject(
            new Error(`test sink: ${messages.length} of ${count} messages after ${timeoutMs} ms`),
          );
        }, timeoutMs);
        waiters.push({ count, resolve, reject, timer });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const waiter of waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error('test sink: closed'));
      }
      const open = [...states.values()].filter((state) => !state.closed);
      for (const state of open) drop(state);
      await Promise.all([
        new Promise<void>((resolve) => listener.close(() => resolve())),
        ...open.map((state) => state.gone),
      ]);
    },
  };
}
