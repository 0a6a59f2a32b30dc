import {
  credentials,
  makeGenericClientConstructor,
  status,
  type Client,
  type ServiceError,
} from '@grpc/grpc-js';
import { createLogger } from '@petrel/observability';
import {
  createRoutingClient,
  ROUTING_SERVICE_NAME,
  type ResolveResponse,
  type RoutingClient,
} from '@petrel/proto';
import { service as healthService } from 'grpc-health-check';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Resolution } from '../resolution.js';
import { startGrpcServer, type GrpcServer, type GrpcServerOptions } from './grpc-server.js';
import type { GrpcLogger, ResolveFunction } from './resolve-handler.js';

// The routing domain, as the test's own table: the query picks the answer.
const base = { domain: 'example.com', source: 'mx', cached: false, transport: null } as const;
const ANSWERS: Record<string, Resolution> = {
  'relay.example': {
    ...base,
    domain: 'relay.example',
    source: 'transport-map',
    cached: true,
    transport: '.relay.example',
    decision: 'relay',
    hops: [
      { host: 'mx1.relay.example', preference: 10, port: 25 },
      { host: '192.0.2.7', preference: 20, port: 2525 },
    ],
    tls: 'required',
    auth: 'smarthost',
  },
  'plain.example': {
    ...base,
    domain: 'plain.example',
    source: 'implicit-mx',
    decision: 'relay',
    hops: [{ host: 'plain.example', preference: 0, port: 25 }],
    tls: null,
    auth: null,
  },
  '[192.0.2.1]': {
    ...base,
    domain: '[192.0.2.1]',
    source: 'literal',
    decision: 'relay',
    hops: [{ host: '192.0.2.1', preference: 0, port: 25 }],
    tls: null,
    auth: null,
  },
  'nxdomain.example': {
    ...base,
    domain: 'nxdomain.example',
    decision: 'reject',
    reply: { code: 550, enhanced: '5.1.2', text: 'Domain does not exist' },
  },
  'servfail.example': {
    ...base,
    domain: 'servfail.example',
    cached: true,
    decision: 'defer',
    reply: { code: 451, enhanced: '4.4.3', text: 'DNS lookup failed' },
  },
  'held.example': {
    ...base,
    domain: 'held.example',
    source: 'transport-map',
    transport: 'held.example',
    decision: 'hold',
  },
  'team@lists.example': {
    ...base,
    domain: 'lists.example',
    source: 'list',
    decision: 'expand',
    members: ['ann@example.com', 'bob@example.org'],
  },
};

const empty: ResolveResponse = {
  decision: 'DECISION_UNSPECIFIED',
  hops: [],
  source: 'SOURCE_UNSPECIFIED',
  cached: false,
  reply: null,
  transport: '',
  tls: '',
  auth: '',
  members: [],
  domain: '',
};

function invalidQuery(message: string): Error {
  return Object.assign(new Error(message), { code: 'EINVAL' });
}

const calls: { query: string; trusted: boolean }[] = [];
const tableResolve: ResolveFunction = async (query, { trusted }) => {
  calls.push({ query, trusted });
  if (query === 'bad@@example') throw invalidQuery('address is not RFC 5321: bad@@example');
  if (query === 'boom.example') throw new Error('redis at 10.0.0.3:6379 refused');
  if (query === 'string.example') throw 'not even an Error';
  if (query === 'hang.example') return new Promise<Resolution>(() => {});
  const answer = ANSWERS[query];
  if (!answer) throw invalidQuery(`no answer for ${query}`);
  return answer;
};

interface Logged {
  level: 'info' | 'warn' | 'error';
  fields: object;
  message: string;
}
function recordingLogger(lines: Logged[]): GrpcLogger {
  return {
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    error: (fields, message) => lines.push({ level: 'error', fields, message }),
  };
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  calls.length = 0;
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function start(options: Partial<GrpcServerOptions> = {}): Promise<GrpcServer> {
  const server = await startGrpcServer({
    host: '127.0.0.1',
    port: 0,
    resolve: tableResolve,
    ...options,
  });
  cleanup.push(() => server.close(100));
  return server;
}

function routing(server: GrpcServer): RoutingClient {
  const client = createRoutingClient(server.address);
  cleanup.push(() => client.close());
  return client;
}

// grpc.health.v1.Health from grpc-health-check's own service definition.
const HealthClient = makeGenericClientConstructor(healthService, 'Health');
type HealthCheck = (
  request: { service: string },
  callback: (error: ServiceError | null, response?: { status: string }) => void,
) => void;

function healthClient(server: GrpcServer): (service: string) => Promise<string> {
  const client = new HealthClient(
    server.address,
    credentials.createInsecure(),
  ) as unknown as Client & {
    Check: HealthCheck;
  };
  cleanup.push(() => client.close());
  return (service) =>
    new Promise((resolve, reject) =>
      client.Check({ service }, (error, response) =>
        error ? reject(error) : resolve(response?.status ?? 'no answer'),
      ),
    );
}

describe('startGrpcServer', () => {
  it('binds a free port for port 0 and says where to dial it', async () => {
    const server = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    const wildcard = await start({ host: '0.0.0.0' });
    expect(wildcard.address).toBe(`127.0.0.1:${wildcard.port}`);
    expect(
      (await routing(wildcard).resolve({ query: 'held.example', trusted: false })).decision,
    ).toBe('HOLD');
  });

  it('passes the query and trusted through to resolve()', async () => {
    const client = routing(await start());
    await client
      .resolve({ query: '<@relay.example:u@held.example>', trusted: true })
      .catch(() => {});
    await client.resolve({ query: 'held.example', trusted: false });
    expect(calls).toEqual([
      { query: '<@relay.example:u@held.example>', trusted: true },
      { query: 'held.example', trusted: false },
    ]);
  });
});

describe('Resolve over a real channel', () => {
  it('answers relay with hops, source, cached, transport, tls and auth', async () => {
    const client = routing(await start());
    expect(await client.resolve({ query: 'relay.example', trusted: false })).toEqual({
      ...empty,
      decision: 'RELAY',
      hops: [
        { host: 'mx1.relay.example', preference: 10, port: 25 },
        { host: '192.0.2.7', preference: 20, port: 2525 },
      ],
      source: 'TRANSPORT_MAP',
      cached: true,
      transport: '.relay.example',
      tls: 'required',
      auth: 'smarthost',
      domain: 'relay.example',
    });
  });

  it('answers "" for a null transport, tls and auth, and names implicit MX and literals', async () => {
    const client = routing(await start());
    expect(await client.resolve({ query: 'plain.example', trusted: false })).toEqual({
      ...empty,
      decision: 'RELAY',
      hops: [{ host: 'plain.example', preference: 0, port: 25 }],
      source: 'IMPLICIT_MX',
      domain: 'plain.example',
    });
    expect(await client.resolve({ query: '[192.0.2.1]', trusted: false })).toMatchObject({
      decision: 'RELAY',
      source: 'LITERAL',
      hops: [{ host: '192.0.2.1', preference: 0, port: 25 }],
      domain: '[192.0.2.1]',
    });
  });

  it('answers reject and defer with their reply', async () => {
    const client = routing(await start());
    expect(await client.resolve({ query: 'nxdomain.example', trusted: false })).toEqual({
      ...empty,
      decision: 'REJECT',
      source: 'MX',
      reply: { code: 550, enhanced: '5.1.2', text: 'Domain does not exist' },
      domain: 'nxdomain.example',
    });
    expect(await client.resolve({ query: 'servfail.example', trusted: false })).toEqual({
      ...empty,
      decision: 'DEFER',
      source: 'MX',
      cached: true,
      reply: { code: 451, enhanced: '4.4.3', text: 'DNS lookup failed' },
      domain: 'servfail.example',
    });
  });

  it('answers hold with no reply, and expand with the members', async () => {
    const client = routing(await start());
    expect(await client.resolve({ query: 'held.example', trusted: false })).toEqual({
      ...empty,
      decision: 'HOLD',
      source: 'TRANSPORT_MAP',
      transport: 'held.example',
      domain: 'held.example',
    });
    expect(await client.resolve({ query: 'team@lists.example', trusted: false })).toEqual({
      ...empty,
      decision: 'EXPAND',
      source: 'LIST',
      members: ['ann@example.com', 'bob@example.org'],
      domain: 'lists.example',
    });
  });

  it('refuses an empty or overlong query with INVALID_ARGUMENT, without calling resolve()', async () => {
    const client = routing(await start());
    await expect(client.resolve({ query: '', trusted: false })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'query is empty',
    });
    await expect(
      client.resolve({ query: `${'a'.repeat(501)}.example.com`, trusted: false }),
    ).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'query is longer than 512 characters',
    });
    expect(calls).toEqual([]);
    // 512 is still a query: it reaches resolve() (which has no answer for it).
    const longest = `${'a'.repeat(500)}.example.com`;
    await expect(client.resolve({ query: longest, trusted: false })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: `no answer for ${longest}`,
    });
    expect(calls).toHaveLength(1);
  });

  it('answers INVALID_ARGUMENT with the message of an EINVAL error', async () => {
    const client = routing(await start());
    await expect(client.resolve({ query: 'bad@@example', trusted: false })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'address is not RFC 5321: bad@@example',
    });
  });

  it('answers INTERNAL for any other throw, logs it, and leaks neither message nor stack', async () => {
    const lines: Logged[] = [];
    const client = routing(await start({ logger: recordingLogger(lines) }));
    for (const query of ['boom.example', 'string.example']) {
      const error = (await client
        .resolve({ query, trusted: false })
        .catch((e) => e)) as ServiceError;
      expect(error.code).toBe(status.INTERNAL);
      expect(error.details).toBe('routing failed to resolve the query');
      expect(error.details).not.toContain('10.0.0.3');
      expect(error.details).not.toContain('at ');
    }
    const errors = lines.filter((line) => line.level === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({
      message: 'resolve failed',
      fields: { query: 'boom.example' },
    });
    expect((errors[0]?.fields as { err: Error }).err.message).toBe(
      'redis at 10.0.0.3:6379 refused',
    );
  });

  it('still answers INTERNAL when the logger itself throws', async () => {
    const throwing: GrpcLogger = {
      info: () => {},
      warn: () => {},
      error: () => {
        throw new Error('log sink gone');
      },
    };
    const client = routing(await start({ logger: throwing }));
    await expect(client.resolve({ query: 'boom.example', trusted: false })).rejects.toMatchObject({
      code: status.INTERNAL,
    });
  });

  it('lets the client give up with DEADLINE_EXCEEDED when resolve() hangs', async () => {
    const client = routing(await start());
    const started = Date.now();
    await expect(
      client.resolve({ query: 'hang.example', trusted: false }, { deadlineMs: 100 }),
    ).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('takes a pino logger from @petrel/observability', async () => {
    const logger: GrpcLogger = createLogger({ service: 'routing', level: 'silent' });
    const client = routing(await start({ logger }));
    await expect(client.resolve({ query: 'boom.example', trusted: false })).rejects.toMatchObject({
      code: status.INTERNAL,
    });
  });
});

describe('grpc.health.v1.Health', () => {
  it('is SERVING for "" and the Routing service after start, NOT_SERVING after setServing(false)', async () => {
    const server = await start();
    const check = healthClient(server);
    expect(await check('')).toBe('SERVING');
    expect(await check(ROUTING_SERVICE_NAME)).toBe('SERVING');
    server.setServing(false);
    expect(await check('')).toBe('NOT_SERVING');
    expect(await check(ROUTING_SERVICE_NAME)).toBe('NOT_SERVING');
    // Draining does not refuse calls: clients still get their answers.
    expect(
      (await routing(server).resolve({ query: 'held.example', trusted: false })).decision,
    ).toBe('HOLD');
    server.setServing(true);
    expect(await check(ROUTING_SERVICE_NAME)).toBe('SERVING');
  });

  it('answers NOT_FOUND for a service it does not know', async () => {
    const check = healthClient(await start());
    await expect(check('petrel.admin.v1.Admin')).rejects.toMatchObject({ code: status.NOT_FOUND });
  });
});

describe('close', () => {
  it('frees the port, and is safe to call twice', async () => {
    const lines: Logged[] = [];
    const server = await start({ logger: recordingLogger(lines) });
    const client = routing(server);
    await client.resolve({ query: 'held.example', trusted: false });
    await Promise.all([server.close(), server.close()]);
    await server.close();
    await expect(
      client.resolve({ query: 'held.example', trusted: false }, { deadlineMs: 1000 }),
    ).rejects.toMatchObject({ code: expect.any(Number) });
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(server.port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => probe.close(resolve));
    expect(lines.map((line) => line.message)).toEqual([
      'grpc server listening',
      'grpc server closed',
    ]);
  });

  it('cancels calls still open after the grace period', async () => {
    const lines: Logged[] = [];
    const server = await start({ logger: recordingLogger(lines) });
    const pending = routing(server)
      .resolve({ query: 'hang.example', trusted: false })
      .then(
        () => null,
        (error: ServiceError) => error,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await server.close(100);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await pending)?.code).toBe(status.CANCELLED);
    expect(lines.some((line) => line.level === 'warn')).toBe(true);
  });

  it('fails to start when the port is taken', async () => {
    const server = await start();
    await expect(start({ port: server.port })).rejects.toThrow();
  });
});
