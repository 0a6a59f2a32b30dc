import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createRoutingClient, type RoutingClient } from './routing-client.js';
import type { ResolveRequest, ResolveResponse } from './routing-messages.js';
import { ROUTING_SERVICE_NAME, routingService } from './routing-package.js';

type Handler = (
  call: ServerUnaryCall<ResolveRequest, ResolveResponse>,
  callback: sendUnaryData<ResolveResponse>,
) => void;

const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function serve(handler: Handler): Promise<string> {
  const server = new Server();
  server.addService(routingService(), { Resolve: handler });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  cleanup.push(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

function client(address: string): RoutingClient {
  const made = createRoutingClient(address);
  cleanup.push(() => made.close());
  return made;
}

const answer = (query: string): ResolveResponse => ({
  decision: 'RELAY',
  hops: [{ host: 'mx.example.com', preference: 10, port: 25 }],
  source: 'MX',
  cached: false,
  reply: null,
  transport: '',
  tls: '',
  auth: '',
  members: [],
  domain: query,
});

describe('routingService', () => {
  it('is petrel.routing.v1.Routing with its one method', () => {
    expect(ROUTING_SERVICE_NAME).toBe('petrel.routing.v1.Routing');
    expect(routingService()['Resolve']?.path).toBe('/petrel.routing.v1.Routing/Resolve');
    expect(Object.keys(routingService())).toEqual(['Resolve']);
  });
});

describe('createRoutingClient', () => {
  it('sends the request and resolves with the typed response', async () => {
    const seen: ResolveRequest[] = [];
    const address = await serve((call, callback) => {
      seen.push(call.request);
      callback(null, answer(call.request.query));
    });
    expect(await client(address).resolve({ query: 'example.com', trusted: true })).toEqual(
      answer('example.com'),
    );
    expect(seen).toEqual([{ query: 'example.com', trusted: true }]);
  });

  it('rejects with the status and details the server answered', async () => {
    const address = await serve((_call, callback) =>
      callback({ code: status.INVALID_ARGUMENT, details: 'query is empty' }),
    );
    await expect(client(address).resolve({ query: '', trusted: false })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'query is empty',
    } satisfies Partial<ServiceError>);
  });

  it('rejects with DEADLINE_EXCEEDED past deadlineMs', async () => {
    const address = await serve(() => {});
    const started = Date.now();
    await expect(
      client(address).resolve({ query: 'slow.example', trusted: false }, { deadlineMs: 100 }),
    ).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rejects with UNAVAILABLE when nothing listens, and fails calls after close()', async () => {
    const address = await serve((call, callback) => callback(null, answer(call.request.query)));
    const closed = createRoutingClient(address);
    closed.close();
    await expect(closed.resolve({ query: 'example.com', trusted: false })).rejects.toThrow();
    const nobody = client('127.0.0.1:1');
    await expect(nobody.resolve({ query: 'example.com', trusted: false })).rejects.toMatchObject({
      code: status.UNAVAILABLE,
    });
  });
});
