// Ordered writes to a next hop with backpressure. Batches are written in
// order, one Buffer at a time, corked so that a pipelined group leaves in as
// few segments as possible; when socket.write() returns false the rest waits
// for 'drain'. So a large message is never buffered in the socket beyond its
// high-water mark, and never copied: the Buffers written are the ones given
// (the dialog's dot-stuffer hands out slices of the stored message).
//
// Invariants:
// - Nothing is written after stop(), nor to a socket that is destroyed or ended.
// - One 'drain' listener per socket, moved when the socket changes (STARTTLS).
//
// Does not: time writes (the connection arms the data-block timer while
// `stalled`), decide what to write.

import type { Socket } from 'node:net';

export class SocketWriter {
  private socket: Socket | null = null;
  private pending: Buffer[] = [];
  private at = 0;
  private blocked = false;
  private stopped = false;

  /** @param onDrain called after a stalled write drained and the queue moved on. */
  constructor(private readonly onDrain: () => void) {}

  /** Writes go to `socket` from now on (the TCP socket, then the TLS one). */
  attach(socket: Socket): void {
    this.socket?.removeListener('drain', this.drained);
    this.socket = socket;
    this.blocked = false;
    socket.on('drain', this.drained);
  }

  /** True while a write waits for 'drain'. */
  get stalled(): boolean {
    return this.blocked && !this.stopped;
  }

  write(batch: readonly Buffer[]): void {
    if (this.stopped) return;
    for (const buffer of batch) this.pending.push(buffer);
    this.pump();
  }

  /** Drops whatever is not yet written; writes nothing more. */
  stop(): void {
    this.stopped = true;
    this.pending = [];
    this.at = 0;
    this.socket?.removeListener('drain', this.drained);
  }

  private readonly drained = (): void => {
    if (!this.blocked || this.stopped) return;
    this.blocked = false;
    this.pump();
    this.onDrain();
  };

  private pump(): void {
    const socket = this.socket;
    if (socket === null || this.blocked || this.stopped) return;
    if (socket.destroyed || !socket.writable) {
      this.stop();
      return;
    }
    socket.cork();
    while (this.at < this.pending.length) {
      const buffer = this.pending[this.at]!;
      this.at++;
      if (!socket.write(buffer)) {
        this.blocked = true;
        break;
      }
    }
    socket.uncork();
    if (this.at === this.pending.length) {
      this.pending = [];
      this.at = 0;
    }
  }
}
