// The HTTP port of every service, apart from its SMTP or gRPC ports:
//   GET /metrics  the registry in Prometheus text format
//   GET /healthz  200 "ok" while live() holds, else 503 (the liveness probe)
//   GET /readyz   200 "ready" while ready() holds, else 503 "not ready"
//                 (the readiness probe: Redis reachable, not draining)
// HEAD is answered like GET without a body; other methods get 405, other
// paths 404.
//
// Invariants: nothing a client sends makes it throw (malformed requests get
// Node's 400, a check that throws, rejects or takes longer than
// checkTimeoutMs answers 503, a failing metrics collection 500); close()
// closes open keep-alive connections too, so that a drain is not held up by a
// Prometheus scraper.
//
// Does not: authenticate (bind it to a pod address that only the cluster
// reaches), or compress.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthServerOptions {
  host: string;
  /** 0: any free port (see `port` of the result). */
  port: number;
  registry: Registry;
  live: () => boolean;
  ready: () => boolean | Promise<boolean>;
  /** A check that has not answered within this counts as failed; default 2000 ms. */
  checkTimeoutMs?: number;
}

export interface HealthServer {
  /** The bound port. */
  readonly port: number;
  /** "http://host:port" to reach it; a wildcard host is reached on loopback. */
  readonly url: string;
  /** Stops listening and closes every connection; safe to call twice. */
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const checkTimeoutMs = options.checkTimeoutMs ?? 2000;
  const server = createServer((request, response) => {
    respond(request, response, options, checkTimeoutMs).catch(() => {
      // Only writing the reply can fail here; the client has gone.
      response.destroy();
    });
  });
  // A probe or a scrape is one short request: nothing holds a socket long.
  server.headersTimeout = 5000;
  server.requestTimeout = 10_000;
  await listen(server, options.host, options.port);
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    url: `http://${reachableHost(address)}:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function respond(
  request: IncomingMessage,
  response: ServerResponse,
  options: HealthServerOptions,
  checkTimeoutMs: number,
): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  const known = path === '/metrics' || path === '/healthz' || path === '/readyz';
  const send = (status: number, body: string, type = TEXT, extra: Record<string, string> = {}) => {
    response.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      ...extra,
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
  if (!known) return send(404, 'not found');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return send(405, 'method not allowed', TEXT, { allow: 'GET, HEAD' });
  }
  if (path === '/metrics') {
    let body: string;
    try {
      body = await options.registry.metrics();
    } catch {
      return send(500, 'metrics unavailable');
    }
    return send(200, body, options.registry.contentType);
  }
  if (path === '/healthz') {
    return (await check(options.live, checkTimeoutMs)) ? send(200, 'ok') : send(503, 'not ok');
  }
  return (await check(options.ready, checkTimeoutMs)) ? send(200, 'ready') : send(503, 'not ready');
}

/** true only when `probe` answers true in time; a throw or a rejection is false. */
async function check(probe: () => boolean | Promise<boolean>, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return (await Promise.race([Promise.resolve().then(probe), late])) === true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

function reachableHost(address: AddressInfo): string {
  if (address.family === 'IPv6') return address.address === '::' ? '[::1]' : `[${address.address}]`;
  return address.address === '0.0.0.0' ? '127.0.0.1' : address.address;
}
