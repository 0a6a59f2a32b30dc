// The admin API (petrel.admin.v1.Admin) on a real routing service, a real
// Redis and a real gRPC channel: what each call shows and does to the queue,
// read back from Redis, and who may call it.
import type { PetrelConfig } from '@petrel/config';
import { parseTransport } from '@petrel/config';
import {
  createAdminClient,
  emptySelector,
  type AdminClient,
  type MutateRequest,
  type Progress,
  type Selector,
} from '@petrel/proto';
import { readEvents, shardPrefixes } from '@petrel/queue';
import {
  makeCertificate,
  startDnsServer,
  startRedis,
  type RedisHandle,
  type TestDnsServer,
  type TestRecord,
} from '@petrel/testing';
import { Redis } from 'ioredis';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRouting, type Routing } from '../src/create-routing.js';
import {
  eventually,
  pending,
  quietLogger,
  refs,
  routingConfig,
  Sender,
  written,
  type Message,
} from './support/routing-harness.js';

const RECORDS: TestRecord[] = [
  { type: 'MX', name: 'a.test', exchange: 'mx1.hosts.test', preference: 10 },
  { type: 'MX', name: 'held.test', exchange: 'mx2.hosts.test', preference: 10 },
  { type: 'MX', name: 'sender.test', exchange: 'mx1.hosts.test', preference: 10 },
  { type: 'A', name: 'mx1.hosts.test', address: '192.0.2.1' },
  { type: 'A', name: 'mx2.hosts.test', address: '192.0.2.2' },
];

let redisHandle: RedisHandle;
let redis: Redis;
let dns: TestDnsServer;
const cleanup: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  redisHandle = await startRedis();
  redis = new Redis(redisHandle.url);
  dns = await startDnsServer({ records: RECORDS, behaviours: { 'broken.test': 'servfail' } });
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

afterAll(async () => {
  redis.disconnect();
  await dns.close();
  await redisHandle.stop();
});

async function start(change?: (c: PetrelConfig) => void) {
  const c = routingConfig(redisHandle.url, dns.address, (c) => {
    c.admin.port = 0;
    const hold = parseTransport('hold');
    if (hold.ok) c.routing.transports['held.test'] = hold.value;
    change?.(c);
  });
  const routing: Routing = createRouting(c, { logger: quietLogger, instance: 'admin-test' });
  await routing.start();
  cleanup.push(() => routing.stop());
  const sender = await Sender.open(redis, c);
  cleanup.push(() => sender.close());
  const send = async (message: Message) => {
    const job = await sender.send(message);
    await eventually(async () => ((await pending(redis, c, job.id)) ? undefined : true));
    return job;
  };
  return { c, routing, send, address: routing.admin!.address };
}

function client(address: string, options: Partial<Parameters<typeof createAdminClient>[0]> = {}) {
  const admin = createAdminClient({ address, ...options });
  cleanup.push(() => admin.close());
  return admin;
}

const select = (fields: Partial<Selector>): Selector => ({ ...emptySelector(), ...fields });
const request = (fields: Partial<Selector>, dryRun = false): MutateRequest => ({
  selector: select(fields),
  dryRun,
  actor: 'tester@test',
  reason: 'admin.spec',
});

async function mutate(
  admin: AdminClient,
  name: Parameters<AdminClient['mutate']>[0],
  r: MutateRequest,
) {
  const seen: Progress[] = [];
  const last = await admin.mutate(name, r, (p) => seen.push(p));
  return { last, seen };
}

describe('the admin API', () => {
  it('lists, shows, traces and acts on the messages of every shard, each in its own', async () => {
    const { c, send, address } = await start((c) => {
      c.redis.shards = 2;
    });
    const second = { ...c, redis: { ...c.redis, prefix: shardPrefixes(c.redis.prefix, 2)[1]! } };
    const sender = await Sender.open(redis, second);
    cleanup.push(() => sender.close());
    const first = await send({ from: '<s@sender.test>', to: ['<x@a.test>'] });
    const other = await sender.send({ from: '<s@sender.test>', to: ['<y@a.test>'] });
    await eventually(async () => ((await pending(redis, second, other.id)) ? undefined : true));
    const admin = client(address);

    const all = await admin.list({ selector: select({ all: true }), limit: 0 });
    expect(all.map((e) => e.id).sort()).toEqual([`${first.id}.1`, `${other.id}.1`].sort());
    expect(await admin.show({ id: other.id })).toMatchObject({
      messageId: other.id,
      bodyStored: true,
      bodyRefs: 1,
    });
    expect((await admin.trace({ id: other.id })).events.map((e) => e.event)).toContain('routed');

    const hold = await mutate(admin, 'Hold', request({ ids: [other.id] }));
    expect(hold.last).toMatchObject({ matched: 1, changed: 1, final: true });
    expect((await written(redis, second)).held.map((d) => d.id)).toEqual([`${other.id}.1`]);
    expect((await written(redis, c)).held).toEqual([]);
    // The depths are the shards' together.
    const queues = (await admin.status()).queues;
    expect(queues.find((q) => q.queue === 'deliveries')).toMatchObject({ waiting: 1 });
    expect(queues.find((q) => q.queue === 'held')).toMatchObject({ waiting: 1 });
  });

  it('lists entries by state and selector, summarises them, and shows and traces a message', async () => {
    const { send, address } = await start();
    const admin = client(address);
    const queued = await send({ from: '<s@sender.test>', to: ['<x@a.test>', '<y@a.test>'] });
    const held = await send({ from: '<s@sender.test>', to: ['<z@held.test>'] });

    const all = await admin.list({ selector: select({ all: true }), limit: 0 });
    expect(all.map((e) => [e.id, e.state, e.domain, e.nextHops])).toEqual([
      [`${queued.id}.1`, 'queued', 'a.test', ['mx1.hosts.test:25']],
      [`${held.id}.1`, 'held', 'held.test', []],
    ]);
    expect(all[0]!.recipients.map((r) => [r.address, r.state])).toEqual([
      ['x@a.test', 'pending'],
      ['y@a.test', 'pending'],
    ]);
    expect(
      (await admin.list({ selector: select({ states: ['held'] }), limit: 0 })).map((e) => e.id),
    ).toEqual([`${held.id}.1`]);
    expect(
      (await admin.list({ selector: select({ recipient: 'Y@A.TEST' }), limit: 0 })).map(
        (e) => e.id,
      ),
    ).toEqual([`${queued.id}.1`]);
    expect(await admin.list({ selector: select({ domain: 'nowhere.test' }), limit: 0 })).toEqual(
      [],
    );
    expect(await admin.list({ selector: select({}), limit: 0 })).toEqual([]);
    await expect(
      admin.list({ selector: select({ states: ['lost'] }), limit: 0 }),
    ).rejects.toMatchObject({
      code: 3,
    });

    const summary = await admin.summary();
    expect(summary.states.find((s) => s.state === 'queued')).toEqual({
      state: 'queued',
      entries: 1,
      recipients: 2,
    });
    expect(summary.states.find((s) => s.state === 'held')).toEqual({
      state: 'held',
      entries: 1,
      recipients: 1,
    });
    expect(summary.domains.map((d) => [d.domain, d.total, d.buckets[0]])).toEqual([
      ['a.test', 1, 1],
      ['held.test', 1, 1],
    ]);
    expect(summary.bucketMinutes).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1280]);

    const show = await admin.show({ id: queued.id });
    expect(show.entries.map((e) => e.id)).toEqual([`${queued.id}.1`]);
    expect(show).toMatchObject({ messageId: queued.id, bodyStored: true, bodyRefs: 1 });
    const trace = await admin.trace({ id: `${queued.id}.1` });
    expect(trace.events.map((e) => [e.event, e.service])).toEqual([['routed', 'routing']]);
    await expect(admin.show({ id: '01JUNKNOWNUNKNOWNUNKNOWN00' })).rejects.toMatchObject({
      code: 5,
    });
    await expect(admin.trace({ id: '01JUNKNOWNUNKNOWNUNKNOWN00' })).rejects.toMatchObject({
      code: 5,
    });
  });

  it('holds and releases: a dry run changes nothing, a second hold is unchanged, release routes again', async () => {
    const { c, send, address } = await start();
    const admin = client(address);
    const a = await send({ from: '<s@sender.test>', to: ['<x@a.test>'] });
    const h = await send({ from: '<s@sender.test>', to: ['<z@held.test>'] });

    const dry = await mutate(admin, 'Hold', request({ ids: [a.id] }, true));
    expect(dry.seen.map((p) => [p.id, p.outcome])).toEqual([
      [`${a.id}.1`, 'would change'],
      ['', ''],
    ]);
    expect((await written(redis, c)).deliveries.map((d) => d.id)).toEqual([`${a.id}.1`]);

    const hold = await mutate(admin, 'Hold', request({ ids: [a.id] }));
    expect(hold.last).toMatchObject({
      matched: 1,
      changed: 1,
      unchanged: 0,
      skipped: 0,
      final: true,
    });
    let now = await written(redis, c);
    expect(now.deliveries).toEqual([]);
    expect(now.held.map((d) => d.id).sort()).toEqual([`${a.id}.1`, `${h.id}.1`].sort());
    expect(await refs(redis, c, a)).toEqual({ refs: 1, body: true });
    expect((await mutate(admin, 'Hold', request({ ids: [a.id] }))).last).toMatchObject({
      unchanged: 1,
      changed: 0,
    });

    const release = await mutate(admin, 'Release', request({ states: ['held'] }));
    expect(release.last).toMatchObject({ matched: 2, changed: 2 });
    now = await written(redis, c);
    expect(now.held).toEqual([]);
    const byId = new Map(now.deliveries.map((d) => [d.id, d]));
    // The transport map's `hold` reads as mx on release: held.test's MX.
    expect(byId.get(`${h.id}.1`)?.route.hops).toEqual([
      { host: 'mx2.hosts.test', preference: 10, port: 25 },
    ]);
    expect(byId.get(`${a.id}.1`)?.route.hops).toEqual([
      { host: 'mx1.hosts.test', preference: 10, port: 25 },
    ]);
    expect(Date.parse(byId.get(`${a.id}.1`)!.lifetimeFrom!)).toBeGreaterThan(
      Date.parse(a.receivedAt),
    );
    const events = (await readEvents(redis, c.redis.prefix, a.id)).map((e) => [e.event, e['by']]);
    expect(events).toEqual([
      ['routed', undefined],
      ['held', 'tester@test (local)'],
      ['released', 'tester@test (local)'],
    ]);
  });

  it('deletes (the body goes with the last entry) and bounces (a DSN to the sender)', async () => {
    const { c, send, address } = await start();
    const admin = client(address);
    const d = await send({ from: '<s@sender.test>', to: ['<x@a.test>'] });
    const b = await send({ from: '<s@sender.test>', to: ['<y@a.test>'] });

    expect((await mutate(admin, 'Delete', request({ ids: [d.id] }))).last).toMatchObject({
      changed: 1,
    });
    expect(await refs(redis, c, d)).toEqual({ refs: null, body: false });

    const bounce = await mutate(admin, 'Bounce', request({ ids: [b.id] }));
    expect(bounce.last).toMatchObject({ matched: 1, changed: 1 });
    expect(bounce.seen[0]!.detail).toMatch(/^bounced, DSN /);
    // The DSN is routed like any message: to the sender's domain.
    await eventually(async () => {
      const dsn = (await written(redis, c)).deliveries.find((j) => j.origin === 'dsn');
      return dsn?.recipients[0]?.forwardPath === 's@sender.test' ? dsn : undefined;
    });
    expect(await refs(redis, c, b)).toEqual({ refs: null, body: false });
    const trace = await admin.trace({ id: b.id });
    const bounced = JSON.parse(trace.events.find((e) => e.event === 'bounced')!.json);
    expect(bounced).toMatchObject({
      recipients: ['y@a.test'],
      by: 'tester@test (local)',
      reason: 'admin.spec',
    });
    expect((await mutate(admin, 'Delete', request({ ids: [b.id] }))).last).toMatchObject({
      matched: 0,
    });
  });

  it('retries a routing retry now, and refuses a mutation without a selector', async () => {
    const { c, send, address } = await start((c) => {
      c.egress.retry.scheduleMs = [3_600_000];
    });
    const admin = client(address);
    const m = await send({ from: '<s@sender.test>', to: ['<x@broken.test>'] });
    await eventually(async () =>
      (await written(redis, c)).transactions.find(
        (t) => t.id === `${m.id}.r1` && t.state === 'delayed',
      ),
    );
    const [entry] = await admin.list({ selector: select({ ids: [m.id] }), limit: 0 });
    expect(entry).toMatchObject({ id: `${m.id}.r1`, state: 'routing', attempts: 1 });
    expect((await mutate(admin, 'Retry', request({ ids: [m.id] }))).last).toMatchObject({
      changed: 1,
    });
    // Routed again at once (and deferred again: a .r2).
    await eventually(async () =>
      (await written(redis, c)).transactions.find((t) => t.id === `${m.id}.r2`) ? true : undefined,
    );
    await expect(admin.mutate('Delete', request({}))).rejects.toMatchObject({ code: 3 });
  });

  it('reports status: this routing process, the queues, Redis and the counters', async () => {
    const { send, address } = await start();
    const admin = client(address);
    await send({ from: '<>', to: ['<nobody@nowhere.invalid>'] });
    const status = await admin.status();
    expect(status.services).toContainEqual(
      expect.objectContaining({
        service: 'routing',
        instance: 'admin-test',
        health: 'up',
        state: 'ready',
      }),
    );
    expect(status.queues.map((q) => q.queue)).toEqual(['transactions', 'deliveries', 'held']);
    expect(status.queues[0]!.workers).toBeGreaterThanOrEqual(1);
    expect(status.redis?.version).toMatch(/^\d+\.\d+/);
    expect(status.counters.map((c) => c.name)).toEqual([
      'accepted',
      'delivered',
      'deferred',
      'bounced',
      'dsn',
    ]);
  });

  it('serves the queue metrics from Redis', async () => {
    const { routing, send } = await start((c) => {
      c.metrics.destinations = ['a.test'];
    });
    await send({ from: '<s@sender.test>', to: ['<x@a.test>'] });
    const text = await (await fetch(`${routing.health!.url}/metrics`)).text();
    expect(text).toContain('petrel_queue_jobs{queue="deliveries",state="waiting"} 1');
    expect(text).toContain('petrel_queue_workers{queue="transactions"} 1');
    expect(text).toMatch(/petrel_queue_oldest_seconds\{queue="deliveries"\} \d/);
    expect(text).toContain('petrel_build_info{service="routing",version="0.1.0"} 1');
    expect(text).toMatch(/petrel_redis_persistence_ok \d/);
  });
});

describe('who may call', () => {
  it('with TLS and tokens: no token or a wrong one is UNAUTHENTICATED, the right one names the caller', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'petrel-admin-'));
    const server = await makeCertificate(dir, 'admin', 'admin.petrel.test');
    const tokens = join(dir, 'tokens');
    await writeFile(tokens, '# operators\nalice 0123456789abcdef0123\n');
    const { c, send, address } = await start((c) => {
      c.admin.tls = { ...server, clientCa: null };
      c.admin.tokensFile = tokens;
    });
    const ca = await import('node:fs/promises').then((fs) => fs.readFile(server.cert));
    await expect(client(address, { ca }).summary()).rejects.toMatchObject({ code: 16 });
    await expect(
      client(address, { ca, token: 'wrong-token-wrong-token' }).summary(),
    ).rejects.toMatchObject({
      code: 16,
    });
    // Plaintext to a TLS port does not get through either.
    await expect(client(address, { deadlineMs: 2000 }).summary()).rejects.toMatchObject({});
    const alice = client(address, { ca, token: '0123456789abcdef0123' });
    const m = await send({ from: '<s@sender.test>', to: ['<x@a.test>'] });
    expect((await mutate(alice, 'Hold', request({ ids: [m.id] }))).last).toMatchObject({
      changed: 1,
    });
    const held = (await readEvents(redis, c.redis.prefix, m.id)).find((e) => e.event === 'held');
    expect(held?.['by']).toBe('tester@test (alice)');
  });

  it('with mutual TLS: a client certificate the CA signed is let in and named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'petrel-admin-'));
    const server = await makeCertificate(dir, 'admin', 'admin.petrel.test');
    const operator = await makeCertificate(dir, 'operator', 'operator-bob');
    const { address } = await start((c) => {
      c.admin.tls = { ...server, clientCa: operator.cert };
    });
    const fs = await import('node:fs/promises');
    const ca = await fs.readFile(server.cert);
    const bob = client(address, {
      ca,
      cert: await fs.readFile(operator.cert),
      key: await fs.readFile(operator.key),
    });
    expect((await bob.summary()).states.length).toBe(6);
    await expect(client(address, { ca, deadlineMs: 3000 }).summary()).rejects.toMatchObject({});
  });
});
