// Python's aiosmtpd (Debian's python3-aiosmtpd) as a second, independent next
// hop for the client interop tests. It offers no PIPELINING, so it exercises
// the lock-step dialog. The child prints its port, then one JSON line per
// message (envelope and base64 body as aiosmtpd stored it after its own
// dot-unstuffing); it exits when its stdin closes. Refusals by local part as
// in client-peer-smtp-server.ts.
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ReceivedMessage } from './client-peer-smtp-server.js';

const PYTHON = '/usr/bin/python3';

const SCRIPT = String.raw`
import asyncio, base64, json, sys
from aiosmtpd.smtp import SMTP

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('reject-'):
            return '550 5.1.1 No such user here'
        if address.startswith('defer-'):
            return '451 4.2.0 Mailbox busy, try later'
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'

    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({
            'mailFrom': envelope.mail_from,
            'mailOptions': envelope.mail_options,
            'rcptTo': envelope.rcpt_tos,
            'body': base64.b64encode(envelope.original_content).decode(),
        }), flush=True)
        if envelope.mail_from.startswith('data-reject-'):
            return '554 5.6.0 Content refused'
        return '250 2.0.0 Message accepted for delivery'

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Handler(), hostname='aiosmtpd.test', enable_SMTPUTF8=True, decode_data=False),
        '127.0.0.1', 0)
    print(json.dumps({'port': server.sockets[0].getsockname()[1]}), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()

asyncio.run(main())
`;

/** Why aiosmtpd cannot be used here, or null when it can. */
export function aiosmtpdUnavailable(): string | null {
  try {
    execFileSync(PYTHON, ['-c', 'import aiosmtpd'], { stdio: 'ignore' });
    return null;
  } catch {
    return `${PYTHON} cannot import aiosmtpd (Debian: apt-get install python3-aiosmtpd)`;
  }
}

export interface AiosmtpdPeer {
  readonly port: number;
  readonly received: ReceivedMessage[];
  close(): Promise<void>;
}

export async function startAiosmtpdPeer(): Promise<AiosmtpdPeer> {
  const child = spawn(PYTHON, ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const received: ReceivedMessage[] = [];
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`aiosmtpd exited with ${code}`)));
    lines.on('line', (line) => {
      const record = JSON.parse(line) as {
        port?: number;
        mailFrom: string;
        mailOptions: string[];
        rcptTo: string[];
        body: string;
      };
      if (record.port !== undefined) return resolve(record.port);
      received.push({
        mailFrom: record.mailFrom,
        mailArgs: Object.fromEntries(
          record.mailOptions.map((o) => {
            const eq = o.indexOf('=');
            return eq < 0
              ? [o.toUpperCase(), true]
              : [o.slice(0, eq).toUpperCase(), o.slice(eq + 1)];
          }),
        ),
        rcptTo: record.rcptTo,
        body: Buffer.from(record.body, 'base64'),
        secure: false,
        user: undefined,
      });
    });
  });
  return {
    port,
    received,
    close: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
