// SocketWriter over a real loopback connection: order, backpressure (a peer
// that stops reading stalls the writer until it reads again), nothing after stop().
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SocketWriter } from './socket-writer.js';

interface Pair {
  client: Socket;
  server: Socket;
  listener: Server;
}

async function pair(): Promise<Pair> {
  let accepted!: (s: Socket) => void;
  const server = new Promise<Socket>((resolve) => (accepted = resolve));
  const listener = createServer((s) => accepted(s));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const client = connect({ host: '127.0.0.1', port: (listener.address() as AddressInfo).port });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  return { client, server: await server, listener };
}

function collect(socket: Socket): { bytes: () => Buffer; length: () => number } {
  const chunks: Buffer[] = [];
  let length = 0;
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    length += c.length;
  });
  return { bytes: () => Buffer.concat(chunks), length: () => length };
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('SocketWriter', () => {
  const open: Pair[] = [];
  afterEach(async () => {
    for (const p of open.splice(0)) {
      p.client.destroy();
      p.server.destroy();
      await new Promise<void>((resolve) => p.listener.close(() => resolve()));
    }
  });

  it('writes batches in order, the Buffers as given', async () => {
    const p = await pair();
    open.push(p);
    const got = collect(p.server);
    const writer = new SocketWriter(() => undefined);
    writer.attach(p.client);
    writer.write([Buffer.from('one '), Buffer.from('two ')]);
    writer.write([Buffer.from('three')]);
    await until(() => got.length() === 13);
    expect(got.bytes().toString()).toBe('one two three');
  });

  it('stalls while the peer reads nothing, and goes on (calling onDrain) when it reads again', async () => {
    const p = await pair();
    open.push(p);
    p.server.pause();
    let drains = 0;
    const writer = new SocketWriter(() => drains++);
    writer.attach(p.client);
    const piece = Buffer.alloc(64 * 1024, 0x61);
    const pieces = Array.from({ length: 256 }, () => piece); // 16 MiB
    writer.write(pieces);
    expect(writer.stalled).toBe(true);
    // Not all 16 MiB sit in the socket's buffer: the rest waits in the writer.
    expect(p.client.writableLength).toBeLessThan(16 * 1024 * 1024);
    const got = collect(p.server);
    p.server.resume();
    await until(() => got.length() === 16 * 1024 * 1024);
    expect(writer.stalled).toBe(false);
    expect(drains).toBeGreaterThan(0);
  });

  it('writes nothing after stop(), queued data included', async () => {
    const p = await pair();
    open.push(p);
    p.server.pause();
    const writer = new SocketWriter(() => undefined);
    writer.attach(p.client);
    writer.write(Array.from({ length: 256 }, () => Buffer.alloc(64 * 1024, 0x62)));
    expect(writer.stalled).toBe(true);
    const queued = p.client.writableLength;
    writer.stop();
    expect(writer.stalled).toBe(false);
    writer.write([Buffer.from('late')]);
    expect(p.client.writableLength).toBe(queued);
    expect(p.client.listenerCount('drain')).toBe(0);
  });
});
