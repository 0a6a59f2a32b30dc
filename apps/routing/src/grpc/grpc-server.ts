// The routing service's gRPC port:
//   petrel.routing.v1.Routing/Resolve  resolve() through resolve-handler.ts
//   grpc.health.v1.Health              Check/Watch/List for "" (the server) and
//                                      "petrel.routing.v1.Routing": SERVING once
//                                      started, NOT_SERVING after setServing(false)
//                                      (while draining) and on close()
//
// Binds with insecure credentials: the port is reached only inside the
// cluster. TLS (and the admin service) come with the admin API, issue 7.
//
// close(graceMs) stops taking calls, lets calls in flight finish for up to
// graceMs, then cancels what is left (long Health/Watch streams included);
// it is safe to call twice.
//
// Does not: read config or wire signals (create-routing does), or own the
// routing domain: resolve() is given.

import { Server, ServerCredentials } from '@grpc/grpc-js';
import { ROUTING_SERVICE_NAME, routingService } from '@petrel/proto';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { createResolveHandler, type GrpcLogger, type ResolveFunction } from './resolve-handler.js';

export interface GrpcServerOptions {
  host: string;
  /** 0: any free port (see `port` of the result). */
  port: number;
  resolve: ResolveFunction;
  logger?: GrpcLogger;
}

export interface GrpcServer {
  /** The bound port. */
  readonly port: number;
  /** "host:port" to dial; a wildcard host is reached on loopback. */
  readonly address: string;
  /** SERVING or NOT_SERVING for health checks; calls are still answered either way. */
  setServing(serving: boolean): void;
  /** Default grace: 5000 ms. */
  close(graceMs?: number): Promise<void>;
}

/** Health-checked names: "" is the whole server, by the gRPC health convention. */
const HEALTH_SERVICES = ['', ROUTING_SERVICE_NAME];

const DEFAULT_GRACE_MS = 5000;

export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const { logger } = options;
  const server = new Server({
    // A request is one query of at most 512 characters; nothing needs more.
    'grpc.max_receive_message_length': 16 * 1024,
  });
  server.addService(routingService(), {
    Resolve: createResolveHandler(options.resolve, logger),
  });
  const health = new HealthImplementation();
  health.addToServer(server);
  const setStatus = (status: ServingStatus) => {
    for (const name of HEALTH_SERVICES) health.setStatus(name, status);
  };

  const port = await bind(server, options.host, options.port);
  setStatus('SERVING');
  const address = `${reachableHost(options.host)}:${port}`;
  logger?.info({ address }, 'grpc server listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    address,
    setServing(serving) {
      setStatus(serving ? 'SERVING' : 'NOT_SERVING');
    },
    close(graceMs = DEFAULT_GRACE_MS) {
      closing ??= shutdown(server, graceMs, () => setStatus('NOT_SERVING'), logger);
      return closing;
    },
  };
}

function shutdown(
  server: Server,
  graceMs: number,
  notServing: () => void,
  logger: GrpcLogger | undefined,
): Promise<void> {
  notServing();
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      logger?.warn({ graceMs }, 'grpc calls still open after the grace period; cancelling them');
      server.forceShutdown();
    }, graceMs);
    server.tryShutdown(() => {
      // tryShutdown reports no error that matters here: the server is down either way.
      clearTimeout(force);
      logger?.info({}, 'grpc server closed');
      resolve();
    });
  });
}

function bind(server: Server, host: string, port: number): Promise<number> {
  const target =
    host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(target, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
}

function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
