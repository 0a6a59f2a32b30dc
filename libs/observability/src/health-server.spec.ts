import { connect } from 'node:net';
import { Counter, Gauge } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer, type HealthServer, type HealthServerOptions } from './health-server.js';
import { createRegistry } from './metrics-registry.js';

const servers: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(options: Partial<HealthServerOptions> = {}): Promise<HealthServer> {
  const server = await startHealthServer({
    host: '127.0.0.1',
    port: 0,
    registry: createRegistry({ collectDefaults: false }),
    live: () => true,
    ready: () => true,
    ...options,
  });
  servers.push(server);
  return server;
}

async function get(server: HealthServer, path: string, init?: RequestInit) {
  const response = await fetch(`${server.url}${path}`, init);
  return { status: response.status, body: await response.text(), headers: response.headers };
}

/** Raw bytes to the port, and everything it answers before closing. */
function raw(server: HealthServer, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('startHealthServer', () => {
  it('binds a free port for port 0 and says where it is', async () => {
    const server = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('serves the registry on /metrics with its content type', async () => {
    const registry = createRegistry({ collectDefaults: false });
    new Counter({ name: 'petrel_messages_accepted_total', help: 'x', registers: [registry] }).inc(
      2,
    );
    const server = await start({ registry });
    const { status, body, headers } = await get(server, '/metrics');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe(registry.contentType);
    expect(body).toContain('petrel_messages_accepted_total 2');
  });

  it('serves default metrics when the registry collects them', async () => {
    const server = await start({ registry: createRegistry() });
    expect((await get(server, '/metrics')).body).toContain('petrel_process_cpu_user_seconds_total');
  });

  it('answers /healthz from live()', async () => {
    let live = true;
    const server = await start({ live: () => live });
    expect(await get(server, '/healthz')).toMatchObject({ status: 200, body: 'ok' });
    live = false;
    expect(await get(server, '/healthz')).toMatchObject({ status: 503, body: 'not ok' });
  });

  it('answers /readyz from ready(), synchronous or not', async () => {
    let ready = false;
    const server = await start({ ready: async () => ready });
    expect(await get(server, '/readyz')).toMatchObject({ status: 503, body: 'not ready' });
    ready = true;
    expect(await get(server, '/readyz')).toMatchObject({ status: 200, body: 'ready' });
    const sync = await start({ ready: () => true });
    expect(await get(sync, '/readyz')).toMatchObject({ status: 200, body: 'ready' });
  });

  it('answers 503 when a check throws, rejects, answers no boolean or takes too long', async () => {
    const throwing = await start({
      live: () => {
        throw new Error('boom');
      },
      ready: () => Promise.reject(new Error('redis down')),
    });
    expect((await get(throwing, '/healthz')).status).toBe(503);
    expect((await get(throwing, '/readyz')).status).toBe(503);
    const odd = await start({ ready: () => 'yes' as unknown as boolean });
    expect((await get(odd, '/readyz')).status).toBe(503);
    const slow = await start({ ready: () => new Promise<boolean>(() => {}), checkTimeoutMs: 50 });
    const started = Date.now();
    expect(await get(slow, '/readyz')).toMatchObject({ status: 503, body: 'not ready' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('answers 500 when collecting metrics fails, and goes on serving', async () => {
    const registry = createRegistry({ collectDefaults: false });
    new Gauge({
      name: 'petrel_broken',
      help: 'x',
      registers: [registry],
      collect() {
        throw new Error('collector failed');
      },
    });
    const server = await start({ registry });
    expect(await get(server, '/metrics')).toMatchObject({
      status: 500,
      body: 'metrics unavailable',
    });
    expect((await get(server, '/healthz')).status).toBe(200);
  });

  it('ignores query strings, 404s other paths, 405s other methods, and answers HEAD bodiless', async () => {
    const server = await start();
    expect((await get(server, '/healthz?probe=1')).status).toBe(200);
    expect(await get(server, '/')).toMatchObject({ status: 404, body: 'not found' });
    expect((await get(server, '/metrics/x')).status).toBe(404);
    const post = await get(server, '/readyz', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await get(server, '/healthz', { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers.get('content-length')).toBe('2');
    expect(head.headers.get('cache-control')).toBe('no-store');
  });

  it('survives malformed requests and clients that vanish', async () => {
    const server = await start({
      ready: () => new Promise((resolve) => setTimeout(() => resolve(true), 50)),
    });
    expect(await raw(server, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    const gone = connect(server.port, '127.0.0.1', () => {
      gone.end('GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n');
      gone.destroy();
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await get(server, '/healthz')).status).toBe(200);
  });

  it('closes with keep-alive connections open, once or twice', async () => {
    const server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: createRegistry({ collectDefaults: false }),
      live: () => true,
      ready: () => true,
    });
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await Promise.all([server.close(), server.close()]);
    await closed;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('rejects when the port is taken', async () => {
    const first = await start();
    await expect(start({ port: first.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('is reached on loopback when bound to every address', async () => {
    const server = await start({ host: '0.0.0.0' });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect((await get(server, '/healthz')).status).toBe(200);
  });
});
