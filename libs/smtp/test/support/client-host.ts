// A thin TCP host for the sender-SMTP machine, for interop tests only: it
// connects a ClientDialog to a socket, writes what the machine says, upgrades
// to TLS when told, and hands the test every other output in order. Egress is
// the production host.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ClientDialog } from '../../src/client-dialog.js';
import type { ClientOptions, ClientOutput, OutboundTransaction } from '../../src/client-types.js';

/** The outputs a test waits for: everything but `send` and `start-tls`, which the host acts on. */
export type ClientEvent = Exclude<ClientOutput, { kind: 'send' } | { kind: 'start-tls' }>;

export interface ClientHost {
  readonly dialog: ClientDialog;
  /** The next event, in order; rejects after `timeoutMs` without one. */
  next(timeoutMs?: number): Promise<ClientEvent>;
  /** next(), asserting its kind. */
  expect<K extends ClientEvent['kind']>(kind: K): Promise<Extract<ClientEvent, { kind: K }>>;
  send(tx: OutboundTransaction): void;
  quit(): void;
  noop(): void;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  /** Destroys the socket (end of test, whatever happened). */
  destroy(): void;
}

export async function connectClient(port: number, options: ClientOptions): Promise<ClientHost> {
  const dialog = new ClientDialog(options);
  const events: ClientEvent[] = [];
  const waiters: ((e: ClientEvent) => void)[] = [];
  let socket: Socket = connect({ host: '127.0.0.1', port });
  const raw = socket;
  const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    raw.once('connect', resolve);
    raw.once('error', reject);
  });

  const emit = (e: ClientEvent) => {
    const w = waiters.shift();
    if (w === undefined) events.push(e);
    else w(e);
  };

  const act = (outputs: ClientOutput[]) => {
    for (const o of outputs) {
      switch (o.kind) {
        case 'send':
          for (const b of o.data) socket.write(b);
          break;
        case 'start-tls': {
          // Nothing more is read in plaintext: the TLS socket takes the raw one over.
          raw.removeListener('data', onData);
          raw.removeListener('end', onEnd);
          // A throwaway self-signed certificate in tests; egress verifies per policy.
          const secure = tlsConnect({
            socket: raw,
            rejectUnauthorized: false,
            servername: 'localhost',
          });
          secure.on('error', onEnd);
          secure.once('secureConnect', () => {
            socket = secure;
            secure.on('data', onData);
            secure.on('end', onEnd);
            act(dialog.tlsStarted());
          });
          break;
        }
        case 'failed':
        case 'close':
          socket.end();
          emit(o);
          break;
        default:
          emit(o);
      }
    }
  };

  function onData(chunk: Buffer) {
    act(dialog.receive(chunk));
  }
  function onEnd() {
    act(dialog.connectionLost());
  }
  raw.on('data', onData);
  raw.on('end', onEnd);
  raw.on('error', onEnd);

  const next = (timeoutMs = 5_000) =>
    new Promise<ClientEvent>((resolve, reject) => {
      const queued = events.shift();
      if (queued !== undefined) return resolve(queued);
      const timer = setTimeout(
        () => reject(new Error(`no client event within ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiters.push((e) => {
        clearTimeout(timer);
        resolve(e);
      });
    });

  return {
    dialog,
    next,
    async expect(kind) {
      const e = await next();
      if (e.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(e)}`);
      return e as never;
    },
    send: (tx) => act(dialog.send(tx)),
    quit: () => act(dialog.quit()),
    noop: () => act(dialog.noop()),
    closed,
    destroy: () => {
      socket.destroy();
      raw.destroy();
    },
  };
}
