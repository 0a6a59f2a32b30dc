// The npm smtp-server as an independent next hop for the client interop tests:
// it records exactly what it received (envelope, parameters, body octets after
// its own dot-unstuffing) and refuses by the address's local part, as
// KumoMTA's test sink does:
//   RCPT  reject-*  550 ;  defer-*  451
//   DATA  (sender)  data-reject-*  554 ;  data-defer-*  451
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedMessage {
  readonly mailFrom: string;
  readonly mailArgs: Record<string, unknown>;
  readonly rcptTo: string[];
  readonly body: Buffer;
  readonly secure: boolean;
  readonly user: string | undefined;
}

export interface SmtpServerPeer {
  port: number;
  readonly received: ReceivedMessage[];
  /** Connections the peer saw (to check reuse). */
  connections: number;
  close(): Promise<void>;
}

function refusal(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

export async function startSmtpServerPeer(
  options: Partial<SMTPServerOptions> = {},
): Promise<SmtpServerPeer> {
  const received: ReceivedMessage[] = [];
  const peer = {
    port: 0,
    received,
    connections: 0,
    close: async () => undefined,
  } as SmtpServerPeer;
  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    logger: false,
    disabledCommands: options.key === undefined ? ['STARTTLS'] : [],
    onConnect(_session, callback) {
      peer.connections++;
      callback();
    },
    onAuth(auth, _session, callback) {
      if (auth.username === 'alice' && auth.password === 'secret')
        callback(null, { user: 'alice' });
      else callback(refusal(535, '5.7.8 Authentication credentials invalid'));
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('reject-'))
        return callback(refusal(550, '5.1.1 No such user here'));
      if (address.address.startsWith('defer-'))
        return callback(refusal(451, '4.2.0 Mailbox busy, try later'));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const from = session.envelope.mailFrom;
        const mailFrom = from === false ? '' : from.address;
        received.push({
          mailFrom,
          mailArgs: from === false ? {} : { ...(from.args as Record<string, unknown>) },
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          body: Buffer.concat(chunks),
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : undefined,
        });
        if (mailFrom.startsWith('data-reject-'))
          return callback(refusal(554, '5.6.0 Content refused'));
        if (mailFrom.startsWith('data-defer-'))
          return callback(refusal(451, '4.3.0 Try again later'));
        callback(null, 'Ok: queued as TEST');
      });
    },
    ...options,
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peer.port = (server.server.address() as AddressInfo).port;
  peer.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return peer;
}
