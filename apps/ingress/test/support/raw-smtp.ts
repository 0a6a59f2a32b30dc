// A line-level SMTP client for tests that must control every byte: reads one
// whole (multi-line) reply at a time, sends raw commands, pipelines.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

export class RawSmtp {
  private buffer = '';
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number, prelude?: Buffer): Promise<RawSmtp> {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    if (prelude) socket.write(prelude);
    return new RawSmtp(socket);
  }

  /** The next whole reply, lines joined with \n; '' when the server closed without one. */
  async reply(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^((?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n)/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[1]!.length);
        return m[1]!.replace(/\r\n$/, '').replace(/\r\n/g, '\n');
      }
      if (this.closed) return '';
      if (Date.now() > deadline)
        throw new Error(`no reply within ${timeoutMs} ms; buffered ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(text: string): void {
    this.socket.write(text, 'latin1');
  }

  /** Sends one command line and returns its reply. */
  async command(line: string): Promise<string> {
    this.send(`${line}\r\n`);
    return this.reply();
  }

  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    if (this.closed) return true;
    await Promise.race([once(this.socket, 'close'), new Promise((r) => setTimeout(r, timeoutMs))]);
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
