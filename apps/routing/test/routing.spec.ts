// The routing service end to end on real peers: transactions stored by the
// real store path in a real Redis, routed by createRouting's BullMQ worker
// with the test's own DNS server, and the deliveries, held jobs, DSNs and
// routing retries read back from Redis. Resolve is asked over a real gRPC
// channel.
import { createRoutingClient } from '@petrel/proto';
import {
  startDnsServer,
  startRedis,
  type RedisHandle,
  type TestDnsServer,
  type TestRecord,
} from '@petrel/testing';
import type { PetrelConfig } from '@petrel/config';
import { parseTransport } from '@petrel/config';
import { Redis } from 'ioredis';
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
  { type: 'MX', name: 'b.test', exchange: 'mx1.hosts.test', preference: 10 },
  { type: 'MX', name: 'c.test', exchange: 'mx2.hosts.test', preference: 10 },
  { type: 'MX', name: 'hop1.test', exchange: 'mx3.hosts.test', preference: 10 },
  { type: 'MX', name: 'nullmx.test', exchange: '.', preference: 0 },
  { type: 'A', name: 'mx1.hosts.test', address: '192.0.2.1' },
  { type: 'A', name: 'mx2.hosts.test', address: '192.0.2.2' },
];

let redisHandle: RedisHandle;
let redis: Redis;
let dns: TestDnsServer;
const started: Routing[] = [];
const senders: Sender[] = [];

beforeAll(async () => {
  redisHandle = await startRedis();
  redis = new Redis(redisHandle.url);
  dns = await startDnsServer({ records: RECORDS, behaviours: { 'broken.test': 'servfail' } });
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.stop()));
  await Promise.all(senders.splice(0).map((s) => s.close()));
  dns.set(RECORDS, { 'broken.test': 'servfail' });
});

afterAll(async () => {
  redis.disconnect();
  await dns.close();
  await redisHandle.stop();
});

async function start(change?: (c: PetrelConfig) => void, now?: () => Date) {
  const c = routingConfig(redisHandle.url, dns.address, change);
  const routing = createRouting(c, {
    logger: quietLogger,
    instance: 'test',
    ...(now ? { now } : {}),
  });
  started.push(routing);
  await routing.start();
  const sender = await Sender.open(redis, c);
  senders.push(sender);
  const send = async (message: Message) => {
    const job = await sender.send(message);
    await eventually(async () => ((await pending(redis, c, job.id)) ? undefined : true));
    return job;
  };
  return { c, routing, send };
}

const to = (n: number, domain: string) =>
  Array.from({ length: n }, (_, i) => `<user${i + 1}@${domain}>`);

describe('one copy of the data per destination host', () => {
  it('groups 10 recipients in 3 domains whose MX records name 2 hosts into 2 deliveries', async () => {
    const { c, send } = await start();
    const job = await send({
      from: '<sender@a.test>',
      to: [...to(4, 'a.test'), ...to(3, 'c.test'), ...to(3, 'b.test')],
    });
    const { deliveries, held, transactions, failed } = await written(redis, c);
    expect(deliveries.map((d) => d.id)).toEqual([`${job.id}.1`, `${job.id}.2`]);
    const byHost = Object.fromEntries(deliveries.map((d) => [d.route.hops[0]!.host, d]));
    expect(byHost['mx1.hosts.test']!.recipients.map((r) => r.forwardPath)).toEqual(
      [...to(4, 'a.test'), ...to(3, 'b.test')].map((p) => p.slice(1, -1)),
    );
    expect(byHost['mx2.hosts.test']!.recipients.map((r) => r.forwardPath)).toEqual(
      to(3, 'c.test').map((p) => p.slice(1, -1)),
    );
    const first = deliveries[0]!;
    expect(first).toMatchObject({
      v: 1,
      messageId: job.id,
      receivedAt: job.receivedAt,
      verb: 'MAIL',
      reversePath: job.reversePath,
      bodyKey: job.bodyKey,
      size: job.size,
      origin: 'smtp',
    });
    expect(first.recipients[0]).toEqual({
      forwardPath: first.recipients[0]!.forwardPath,
      original: first.recipients[0]!.forwardPath,
      state: 'pending',
    });
    expect(held).toEqual([]);
    expect(transactions).toEqual([]);
    expect(failed).toBe(0);
    // Two jobs reference the body; the routed key is gone once the job completed.
    expect(await refs(redis, c, job)).toEqual({ refs: 2, body: true });
    await eventually(async () =>
      (await redis.exists(`${c.redis.prefix}:routed:${job.id}`)) === 0 ? true : undefined,
    );
  });

  it('splits a destination at maxRecipientsPerDelivery (100)', async () => {
    const { c, send } = await start();
    const recipients = to(250, 'a.test');
    const job = await send({ from: '<sender@a.test>', to: recipients });
    const { deliveries } = await written(redis, c);
    expect(deliveries.map((d) => d.recipients.length)).toEqual([100, 100, 50]);
    expect(deliveries.flatMap((d) => d.recipients.map((r) => `<${r.forwardPath}>`))).toEqual(
      recipients,
    );
    expect(await refs(redis, c, job)).toEqual({ refs: 3, body: true });
  });

  it('delivers the same forward-path once', async () => {
    const { c, send } = await start();
    await send({ from: '<sender@a.test>', to: ['<x@a.test>', '<x@a.test>', '<X@a.test>'] });
    const { deliveries } = await written(redis, c);
    expect(deliveries[0]!.recipients.map((r) => r.forwardPath)).toEqual(['x@a.test', 'X@a.test']);
  });
});

describe('recipients that cannot be routed', () => {
  it('bounce in one DSN to the reverse-path, while the rest go on', async () => {
    const { c, send } = await start();
    const job = await send({
      from: '<sender@c.test>',
      to: ['<ok@a.test>', '<x@missing.test>', '<y@nullmx.test>'],
    });
    const dsn = await eventually(async () =>
      (await written(redis, c)).deliveries.find((d) => d.origin === 'dsn'),
    );
    const { deliveries } = await written(redis, c);
    const original = deliveries.find((d) => d.messageId === job.id)!;
    expect(original.recipients.map((r) => r.forwardPath)).toEqual(['ok@a.test']);
    // The DSN is a new message, routed like any other: to c.test's MX.
    expect(dsn.route.hops[0]!.host).toBe('mx2.hosts.test');
    expect(dsn.recipients.map((r) => r.forwardPath)).toEqual(['sender@c.test']);
    const body = (await redis.getBuffer(dsn.bodyKey))!.toString('utf8');
    expect(dsn.reversePath).toEqual({ route: [], mailbox: null, raw: '' });
    expect(body).toMatch(/^From: Mail Delivery System <MAILER-DAEMON@mx\.petrel\.test>\r\n/m);
    expect(body).toContain('To: <sender@c.test>');
    expect(body).toContain('Content-Type: multipart/report; report-type=delivery-status;');
    expect(body).toContain(`X-Petrel-Queue-ID: ${job.id}`);
    expect(body).toMatch(
      /Final-Recipient: rfc822; ?x@missing\.test\r\nAction: failed\r\nStatus: 5\.1\.2\r\n/,
    );
    expect(body).toMatch(
      /Final-Recipient: rfc822; ?y@nullmx\.test\r\nAction: failed\r\nStatus: 5\.1\.10\r\n/,
    );
    expect(body).toContain(
      'Diagnostic-Code: x-petrel; 550 5.1.2 Domain missing.test does not exist',
    );
    expect(body).toContain('Subject: routing test'); // the original's headers come back
    expect(body).not.toContain('Hello.'); // not its body
    expect(await refs(redis, c, job)).toEqual({ refs: 1, body: true });
  });

  it('are dropped without a DSN when the reverse-path is null, and the body goes with them', async () => {
    const { c, send } = await start();
    const job = await send({ from: '<>', to: ['<x@missing.test>', '<y@nullmx.test>'] });
    const { deliveries, transactions } = await written(redis, c);
    expect(deliveries).toEqual([]);
    expect(transactions).toEqual([]);
    expect(await refs(redis, c, job)).toEqual({ refs: null, body: false });
  });

  it('are bounced by the transport map with its reply', async () => {
    const { c, send } = await start((c) => {
      const t = parseTransport('reject:554 5.7.1 No mail for blocked.test');
      if (t.ok) c.routing.transports['blocked.test'] = t.value;
    });
    const job = await send({ from: '<sender@a.test>', to: ['<x@blocked.test>'] });
    const dsn = await eventually(async () =>
      (await written(redis, c)).deliveries.find((d) => d.origin === 'dsn'),
    );
    const body = (await redis.getBuffer(dsn.bodyKey))!.toString();
    expect(body).toContain('Diagnostic-Code: x-petrel; 554 5.7.1 No mail for blocked.test');
    expect(await refs(redis, c, job)).toEqual({ refs: null, body: false });
  });
});

describe('transient DNS failures', () => {
  it('route the rest now and the failed recipients again later, then finish', async () => {
    const { c, send } = await start((c) => (c.egress.retry.scheduleMs = [60_000]));
    const job = await send({ from: '<sender@a.test>', to: ['<ok@a.test>', '<later@broken.test>'] });
    let w = await written(redis, c);
    expect(w.deliveries.map((d) => d.recipients.map((r) => r.forwardPath))).toEqual([
      ['ok@a.test'],
    ]);
    expect(w.transactions).toHaveLength(1);
    const retry = w.transactions[0]!;
    expect(retry).toMatchObject({ id: `${job.id}.r1`, state: 'delayed', delay: 60_000 });
    expect(retry.data.routingAttempt).toBe(1);
    expect(retry.data.recipients.map((r) => r.forwardPath.raw)).toEqual(['later@broken.test']);
    // The delivery and the retry both hold the body.
    expect(await refs(redis, c, job)).toEqual({ refs: 2, body: true });

    dns.set([
      ...RECORDS,
      { type: 'MX', name: 'broken.test', exchange: 'mx2.hosts.test', preference: 1 },
    ]);
    const { Queue } = await import('bullmq');
    const queue = new Queue('transactions', { connection: redis, prefix: c.redis.prefix });
    await (await queue.getJob(retry.id))!.promote();
    await queue.close();
    await eventually(async () => ((await pending(redis, c, retry.id)) ? undefined : true));
    w = await written(redis, c);
    expect(w.deliveries.map((d) => d.id)).toEqual([`${job.id}.1`, `${job.id}.r1.1`]);
    expect(w.deliveries[1]!.route.hops[0]!.host).toBe('mx2.hosts.test');
    expect(await refs(redis, c, job)).toEqual({ refs: 2, body: true });
  });

  it('bounce with "delivery time expired" once the queue lifetime is over', async () => {
    const late = () => new Date(Date.now() + 6 * 24 * 3600 * 1000);
    const { c, send } = await start(undefined, late);
    const job = await send({ from: '<sender@a.test>', to: ['<later@broken.test>'] });
    const dsn = await eventually(async () =>
      (await written(redis, c)).deliveries.find((d) => d.origin === 'dsn'),
    );
    const body = (await redis.getBuffer(dsn.bodyKey))!.toString();
    expect(body).toMatch(/Status: 4\.4\.3/);
    expect(body).toContain('delivery time expired');
    expect((await written(redis, c)).transactions).toEqual([]);
    expect(await refs(redis, c, job)).toEqual({ refs: null, body: false });
  });
});

describe('source routes', () => {
  const routed = ['<@hop1.test,@hop2.test:user@c.test>'];

  it('are stripped by default (RFC 5321): routed on the final domain', async () => {
    const { c, send } = await start();
    await send({ from: '<sender@a.test>', to: routed, trusted: true });
    const [d] = (await written(redis, c)).deliveries;
    expect(d!.route.hops[0]!.host).toBe('mx2.hosts.test');
    expect(d!.recipients[0]).toMatchObject({
      forwardPath: 'user@c.test',
      original: '@hop1.test,@hop2.test:user@c.test',
    });
  });

  it('are honoured for trusted clients with sourceRoutes: honour (RFC 821)', async () => {
    const { c, send } = await start((c) => (c.routing.sourceRoutes = 'honour'));
    await send({ from: '<sender@a.test>', to: routed, trusted: true });
    await send({ from: '<sender@a.test>', to: routed, trusted: false });
    const [honoured, stripped] = (await written(redis, c)).deliveries;
    expect(honoured!.route).toMatchObject({
      domain: 'hop1.test',
      hops: [{ host: 'mx3.hosts.test' }],
    });
    expect(honoured!.recipients[0]!.forwardPath).toBe('@hop2.test:user@c.test');
    expect(stripped!.route.hops[0]!.host).toBe('mx2.hosts.test');
    expect(stripped!.recipients[0]!.forwardPath).toBe('user@c.test');
  });
});

describe('lists and hold', () => {
  it('expand a list to its members, each routed, keeping the original recipient', async () => {
    const { c, send } = await start((c) => {
      c.routing.lists = {
        'staff@lists.test': ['Alice@a.test', 'ops@lists.test', 'staff@lists.test'],
        'ops@lists.test': ['bob@c.test', 'alice@a.test'],
        'postmaster@mx.petrel.test': ['hostmaster@c.test'],
      };
      c.routing.transports['lists.test'] = {
        action: { kind: 'smtp', host: '192.0.2.50', port: 25, mx: false },
        tls: null,
        auth: null,
        spec: 'smtp:[192.0.2.50]',
      };
    });
    await send({ from: '<sender@a.test>', to: ['<Staff@Lists.test>', '<postmaster>'] });
    const { deliveries } = await written(redis, c);
    const recipients = deliveries.flatMap((d) =>
      d.recipients.map((r) => [r.forwardPath, r.expandedFrom ?? null, d.route.hops[0]!.host]),
    );
    expect(recipients.sort()).toEqual(
      [
        ['Alice@a.test', 'staff@lists.test', 'mx1.hosts.test'],
        ['alice@a.test', 'ops@lists.test', 'mx1.hosts.test'],
        ['bob@c.test', 'ops@lists.test', 'mx2.hosts.test'],
        ['hostmaster@c.test', 'postmaster@mx.petrel.test', 'mx2.hosts.test'],
        // A list naming itself keeps the address: it goes on to lists.test's next hop.
        ['staff@lists.test', 'staff@lists.test', '192.0.2.50'],
      ].sort(),
    );
  });

  it('keeps a held domain in the held queue, which no worker reads', async () => {
    const { c, send } = await start((c) => {
      c.routing.transports['a.test'] = {
        action: { kind: 'hold' },
        tls: null,
        auth: null,
        spec: 'hold',
      };
    });
    const job = await send({ from: '<sender@a.test>', to: ['<x@a.test>', '<y@c.test>'] });
    const { deliveries, held } = await written(redis, c);
    expect(deliveries.map((d) => d.recipients[0]!.forwardPath)).toEqual(['y@c.test']);
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ id: `${job.id}.1`, route: { hops: [], transport: 'a.test' } });
    expect(await refs(redis, c, job)).toEqual({ refs: 2, body: true });
  });
});

describe('Resolve over gRPC', () => {
  it('answers where a domain, an address, a list and a source route go', async () => {
    const { routing } = await start((c) => {
      c.routing.lists = { 'staff@lists.test': ['alice@a.test'] };
      c.routing.sourceRoutes = 'honour';
    });
    const client = createRoutingClient(routing.grpc!.address);
    try {
      expect(await client.resolve({ query: 'a.test', trusted: false })).toMatchObject({
        decision: 'RELAY',
        source: 'MX',
        domain: 'a.test',
        hops: [{ host: 'mx1.hosts.test', preference: 10, port: 25 }],
      });
      expect(await client.resolve({ query: 'user@missing.test', trusted: false })).toMatchObject({
        decision: 'REJECT',
        reply: { code: 550, enhanced: '5.1.2' },
      });
      expect(await client.resolve({ query: 'broken.test', trusted: false })).toMatchObject({
        decision: 'DEFER',
        reply: { code: 451, enhanced: '4.4.3' },
      });
      expect(await client.resolve({ query: 'Staff@lists.test', trusted: false })).toMatchObject({
        decision: 'EXPAND',
        source: 'LIST',
        members: ['alice@a.test'],
      });
      expect(await client.resolve({ query: '<@hop1.test:u@c.test>', trusted: true })).toMatchObject(
        {
          domain: 'hop1.test',
          hops: [{ host: 'mx3.hosts.test' }],
        },
      );
      expect(
        await client.resolve({ query: '<@hop1.test:u@c.test>', trusted: false }),
      ).toMatchObject({
        domain: 'c.test',
      });
      expect(await client.resolve({ query: 'a.test', trusted: false })).toMatchObject({
        cached: true,
      });
      await expect(client.resolve({ query: 'not a domain', trusted: false })).rejects.toMatchObject(
        { code: 3 },
      );
    } finally {
      client.close();
    }
  });
});
