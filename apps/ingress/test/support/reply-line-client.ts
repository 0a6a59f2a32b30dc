// A client socket for transcripts over TCP: writes raw bytes, reads the
// server's output one reply line at a time (an S: line is one line, not one
// whole reply), upgrades to TLS in place when the dialog says so, and tells
// when the server closed. Lines are decoded as UTF-8.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export class ReplyLineClient {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private socket: Socket | TLSSocket;
  private closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  static async open(port: number, host = '127.0.0.1'): Promise<ReplyLineClient> {
    const socket = connect({ host, port });
    await once(socket, 'connect');
    socket.setNoDelay(true);
    return new ReplyLineClient(socket);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.wake();
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.wake();
  };

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', () => undefined);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async waitForInput(deadline: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(0, Math.min(100, deadline - Date.now())));
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** What arrived and was not read as a line yet. */
  get pending(): Buffer {
    return this.buffer;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next reply line without its CRLF; null when the server closed first. */
  async line(timeoutMs = 5000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const crlf = this.buffer.indexOf('\r\n');
      if (crlf >= 0) {
        const text = this.buffer.subarray(0, crlf).toString('utf8');
        this.buffer = this.buffer.subarray(crlf + 2);
        return text;
      }
      if (this.closed) return null;
      if (Date.now() > deadline)
        throw new Error(
          `no reply line within ${timeoutMs} ms; buffered ${JSON.stringify(this.buffer.toString('latin1'))}`,
        );
      await this.waitForInput(deadline);
    }
  }

  /** The TLS handshake on the same connection (after the server's 220 to STARTTLS). */
  async startTls(servername = 'mx.petrel.test'): Promise<void> {
    if (this.buffer.length > 0)
      throw new Error(
        `the server sent bytes after its 220 and before TLS: ${JSON.stringify(this.buffer.toString('latin1'))}`,
      );
    const plain = this.socket;
    plain.removeListener('data', this.onData);
    plain.removeListener('close', this.onClose);
    const secure = tlsConnect({ socket: plain, servername, rejectUnauthorized: false });
    this.attach(secure);
    await once(secure, 'secureConnect');
    this.socket = secure;
  }

  /** True when the server closed within the time (whatever it said first stays readable). */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await this.waitForInput(deadline);
    return this.closed;
  }

  /** Waits a moment for anything more the server might say. */
  async settle(ms = 50): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  destroy(): void {
    this.socket.destroy();
  }
}
