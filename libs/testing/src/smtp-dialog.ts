// A raw SMTP client for tests that must hold a session at a chosen point (in
// the middle of DATA while a server drains, say): one command at a time,
// whole replies (multi-line ones included), bytes written as given.
//
// Does not: pipeline, speak TLS, or dot-stuff what write() is given.

import { connect, type Socket } from 'node:net';

const FINAL_LINE = /^\d{3} [^\n]*\n/m;

export class SmtpDialog {
  #buffer = '';
  readonly #waiting: ((reply: string) => void)[] = [];
  readonly #replies: string[] = [];

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      for (let m = FINAL_LINE.exec(this.#buffer); m; m = FINAL_LINE.exec(this.#buffer)) {
        const end = m.index + m[0].length;
        const reply = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end);
        const waiter = this.#waiting.shift();
        if (waiter) waiter(reply);
        else this.#replies.push(reply);
      }
    });
  }

  /** Connects and reads the greeting; rejects when the connection is refused. */
  static async open(
    port: number,
    host = '127.0.0.1',
  ): Promise<{ dialog: SmtpDialog; greeting: string }> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => undefined);
    const dialog = new SmtpDialog(socket);
    return { dialog, greeting: await dialog.reply() };
  }

  /** The next whole reply. */
  reply(): Promise<string> {
    const ready = this.#replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Sends one command line; its reply. */
  async send(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  write(bytes: string): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}
