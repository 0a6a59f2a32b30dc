// The transport map and the lists reloaded while routing runs (createRouting
// with deps.reload, the file watched with a short poll): the next Resolve
// answer (over gRPC) and the next transaction routed follow the new
// routing.transports, even for a domain whose MX records are in the DNS cache;
// a bad entry is refused with an error line naming it, and the map in force
// stays. Then the routing process itself, on SIGHUP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@petrel/config';
import { createLogger } from '@petrel/observability';
import { createRoutingClient } from '@petrel/proto';
import {
  ensureServiceBuilt,
  freePort,
  killServices,
  spawnService,
  startDnsServer,
  startRedis,
  uniquePrefix,
  type RedisHandle,
  type TestDnsServer,
  captureLog,
  logLines,
  writeConfig,
  type LogLine,
} from '@petrel/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRouting, type Routing } from '../src/create-routing.js';
import { eventually, Sender, written } from './support/routing-harness.js';

let server: RedisHandle;
let redis: Redis;
let dns: TestDnsServer;
let dir: string | undefined;
const started: Routing[] = [];

beforeAll(async () => {
  await ensureServiceBuilt('routing');
  server = await startRedis();
  redis = new Redis(server.url);
  dns = await startDnsServer({
    records: [{ type: 'MX', name: 'b.test', exchange: 'mx1.hosts.test', preference: 10 }],
  });
}, 300_000);

afterEach(async () => {
  killServices();
  for (const r of started.splice(0)) await r.stop().catch(() => undefined);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

afterAll(async () => {
  redis?.disconnect();
  await dns?.close();
  await server?.stop();
});

function config(
  prefix: string,
  routing: Record<string, unknown>,
  grpcPort = 0,
  metricsPort = 0,
): unknown {
  return {
    redis: { url: server.url, prefix, durability: 'none', commandTimeout: '2s' },
    ingress: { hostname: 'mx.petrel.test' },
    routing: {
      dns: { servers: [dns.address], timeout: '300ms' },
      grpc: { host: '127.0.0.1', port: grpcPort },
      lockDuration: '2s',
      ...routing,
    },
    metrics: { port: metricsPort },
    admin: { port: 0 },
  };
}

const reloads = (lines: LogLine[], outcome: string) =>
  lines.filter((l) => l.event === 'config-reload' && l.outcome === outcome);

describe('routing.transports and routing.lists, reloaded from the file', () => {
  it('answers Resolve and routes the next transaction by the new map; a bad entry is refused naming it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-routing-reload-'));
    const file = join(dir, 'petrel.yaml');
    const prefix = uniquePrefix('routing-reload');
    const lists = { 'staff@lists.test': ['alice@a.test'] };
    writeConfig(file, config(prefix, { transports: { 'a.test': 'smtp:[127.0.0.1]:2626' }, lists }));
    const { destination, lines } = captureLog();
    const c = loadConfig({ env: {}, file });
    const routing = createRouting(c, {
      logger: createLogger({ service: 'routing-test', level: 'info', destination }),
      instance: 'test',
      reload: { file, env: {}, signal: null, pollIntervalMs: 100, debounceMs: 50 },
    });
    started.push(routing);
    await routing.start();
    const client = createRoutingClient(routing.grpc!.address);
    const sender = await Sender.open(redis, c);
    try {
      expect(await client.resolve({ query: 'a.test', trusted: false })).toMatchObject({
        decision: 'RELAY',
        source: 'TRANSPORT_MAP',
        transport: 'a.test',
        hops: [{ host: '127.0.0.1', port: 2626 }],
      });
      // b.test by its MX records, twice: the second answer from the DNS cache.
      expect(await client.resolve({ query: 'b.test', trusted: false })).toMatchObject({
        source: 'MX',
        hops: [{ host: 'mx1.hosts.test', port: 25 }],
      });
      expect(await client.resolve({ query: 'b.test', trusted: false })).toMatchObject({
        cached: true,
      });
      expect(await client.resolve({ query: 'staff@lists.test', trusted: false })).toMatchObject({
        decision: 'EXPAND',
        members: ['alice@a.test'],
      });

      writeConfig(
        file,
        config(prefix, {
          transports: { 'a.test': 'smtp:[127.0.0.2]:2727', 'b.test': 'smtp:[127.0.0.3]:2828' },
          lists: { 'staff@lists.test': ['bob@a.test'] },
        }),
      );
      const applied = await eventually(async () => reloads(lines, 'applied')[0]);
      expect(applied).toMatchObject({
        level: 'info',
        msg: 'configuration reloaded',
        trigger: 'file',
        applied: ['routing.transports', 'routing.lists'],
        restart: [],
      });
      expect(await client.resolve({ query: 'a.test', trusted: false })).toMatchObject({
        transport: 'a.test',
        hops: [{ host: '127.0.0.2', port: 2727 }],
      });
      expect(await client.resolve({ query: 'b.test', trusted: false })).toMatchObject({
        source: 'TRANSPORT_MAP',
        transport: 'b.test',
        hops: [{ host: '127.0.0.3', port: 2828 }],
      });
      expect(await client.resolve({ query: 'staff@lists.test', trusted: false })).toMatchObject({
        members: ['bob@a.test'],
      });

      // The next transaction is routed by the new map and the new list.
      const job = await sender.send({
        from: '<s@a.test>',
        to: ['<staff@lists.test>', '<u@b.test>'],
      });
      const { deliveries } = await eventually(async () => {
        const w = await written(redis, c);
        return w.deliveries.length === 2 ? w : undefined;
      });
      expect(deliveries.map((d) => d.messageId)).toEqual([job.id, job.id]);
      expect(
        deliveries
          .map((d) => [d.recipients.map((r) => r.forwardPath), d.route.hops])
          .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
      ).toEqual([
        [['bob@a.test'], [{ host: '127.0.0.2', preference: 0, port: 2727 }]],
        [['u@b.test'], [{ host: '127.0.0.3', preference: 0, port: 2828 }]],
      ]);

      // A bad entry: refused, naming it; the map in force stays.
      writeConfig(
        file,
        config(prefix, {
          transports: { 'a.test': 'smtp:192.0.2.1', 'b.test': 'smtp:[127.0.0.3]:2828' },
          lists: { 'staff@lists.test': ['bob@a.test'] },
        }),
      );
      const refused = await eventually(async () => reloads(lines, 'refused')[0]);
      expect(refused).toMatchObject({
        level: 'error',
        trigger: 'file',
        key: 'routing.transports["a.test"]',
      });
      expect(refused.problem).toMatch(
        /^routing\.transports\["a\.test"\]: expected an address in brackets/,
      );
      expect(await client.resolve({ query: 'a.test', trusted: false })).toMatchObject({
        hops: [{ host: '127.0.0.2', port: 2727 }],
      });

      // A key routing cannot apply live: a warning naming it, the map applied with it.
      writeConfig(
        file,
        config(prefix, {
          transports: { 'a.test': 'smtp:[127.0.0.4]:2929', 'b.test': 'smtp:[127.0.0.3]:2828' },
          lists: { 'staff@lists.test': ['bob@a.test'] },
          concurrency: 8,
        }),
      );
      await eventually(async () => reloads(lines, 'applied')[1]);
      expect(reloads(lines, 'applied')[1]).toMatchObject({
        applied: ['routing.transports'],
        restart: ['routing.concurrency'],
      });
      expect(reloads(lines, 'needs-restart')).toMatchObject([
        { level: 'warn', key: 'routing.concurrency' },
      ]);
      expect(await client.resolve({ query: 'a.test', trusted: false })).toMatchObject({
        hops: [{ host: '127.0.0.4', port: 2929 }],
      });
    } finally {
      client.close();
      await sender.close();
    }
  });
});

describe('the routing process', () => {
  it('reloads the transport map on SIGHUP and goes on running', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-routing-reload-process-'));
    const file = join(dir, 'petrel.yaml');
    const prefix = uniquePrefix('routing-reload-process');
    const grpcPort = await freePort();
    const metricsPort = await freePort();
    const doc = (hop: string) =>
      config(prefix, { transports: { 'a.test': hop } }, grpcPort, metricsPort);
    writeConfig(file, doc('smtp:[127.0.0.1]:2626'));
    const routing = spawnService('routing', { PETREL_CONFIG: file });
    const lines = () => logLines(routing.stdout());
    await eventually(async () => {
      if (routing.child.exitCode !== null)
        throw new Error(`routing exited ${routing.child.exitCode}: ${routing.stderr()}`);
      return lines().some((l) => l.msg === 'routing ready') || undefined;
    }, 20_000);
    const client = createRoutingClient(`127.0.0.1:${grpcPort}`);
    try {
      expect(await client.resolve({ query: 'a.test', trusted: false })).toMatchObject({
        hops: [{ host: '127.0.0.1', port: 2626 }],
      });
      // SIGHUP with the file unchanged: a reload that applies nothing, and the process lives.
      routing.child.kill('SIGHUP');
      await eventually(async () =>
        lines().find(
          (l) => l.event === 'config-reload' && l.outcome === 'applied' && l.trigger === 'signal',
        ),
      );
      expect(routing.child.exitCode).toBeNull();

      writeConfig(file, doc('smtp:[127.0.0.9]:2525'));
      routing.child.kill('SIGHUP');
      await eventually(async () => {
        const answer = await client.resolve({ query: 'a.test', trusted: false });
        return answer.hops[0]?.host === '127.0.0.9' ? answer : undefined;
      });
      // One reload applied the map: the signal's or the file watch's, whichever came first.
      const appliedMap = () =>
        lines().filter(
          (l) => l.event === 'config-reload' && l.applied?.includes('routing.transports'),
        );
      await eventually(async () => appliedMap()[0]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(appliedMap()).toHaveLength(1);
      expect(routing.child.exitCode).toBeNull();
    } finally {
      client.close();
    }
    routing.child.kill('SIGTERM');
    expect(await routing.exited).toEqual({ code: 0, signal: null });
  }, 60_000);
});
