// A thin TCP host for the server machine, for interop tests only: it owns the
// socket and TLS, writes what the machine says, and answers its questions with
// the test's policy. Ingress is the production host.
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContextOptions } from 'node:tls';
import {
  ServerSession,
  type Question,
  type ServerOptions,
  type ServerOutput,
  type Verdict,
} from '../../src/index.js';

export interface StoredMessage {
  readonly question: Extract<Question, { kind: 'store' }>;
  readonly body: Buffer;
}

export interface TestServer {
  readonly port: number;
  readonly stored: StoredMessage[];
  close(): Promise<void>;
}

export async function startTestServer(
  options: Partial<ServerOptions> & { tlsContext?: SecureContextOptions },
  policy: (q: Question) => Verdict | Promise<Verdict> = defaultPolicy,
): Promise<TestServer> {
  const stored: StoredMessage[] = [];
  const sockets = new Set<Socket>();
  let ids = 0;
  const server: Server = createServer((raw) => {
    let socket: Socket = raw;
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => undefined);
    const session = new ServerSession({
      hostname: 'mx.petrel.test',
      ...options,
      starttls: options.tlsContext !== undefined,
    });

    const handle = async (outputs: ServerOutput[]): Promise<void> => {
      let text = '';
      for (const o of outputs) {
        switch (o.kind) {
          case 'reply':
            text += o.text;
            break;
          case 'question': {
            if (text !== '') socket.write(text);
            text = '';
            const q = o.question;
            let verdict = await policy(q);
            if (q.kind === 'store') {
              stored.push({ question: q, body: Buffer.concat([...q.body]) });
              if (verdict.kind === 'accept' && verdict.queueId === undefined)
                verdict = { kind: 'accept', queueId: `Q${++ids}` };
            }
            await handle(session.answer(verdict));
            break;
          }
          case 'start-tls': {
            socket.write(text);
            text = '';
            socket.removeAllListeners('data');
            const secure = new TLSSocket(socket, {
              isServer: true,
              secureContext: createSecureContext(options.tlsContext),
            });
            secure.on('error', () => undefined);
            await once(secure, 'secure');
            socket = secure;
            socket.on('data', onData);
            await handle(session.tlsStarted());
            break;
          }
          case 'close':
            socket.end(text);
            text = '';
            return;
          case 'turn':
            break;
        }
      }
      if (text !== '') socket.write(text);
    };

    // Serialise: a chunk that arrives while a question is open is buffered by the machine.
    let chain = Promise.resolve();
    const onData = (chunk: Buffer): void => {
      chain = chain.then(() => handle(session.receive(chunk)));
    };
    socket.on('data', onData);
    chain = chain.then(() => handle(session.greet()));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    stored,
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

function defaultPolicy(q: Question): Verdict {
  if (q.kind === 'auth') return { kind: q.credentials.password === 'secret' ? 'accept' : 'reject' };
  return { kind: 'accept' };
}
