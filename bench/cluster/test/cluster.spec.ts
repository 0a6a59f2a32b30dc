// The local cluster, started for real: HAProxy (PROXY v2) in front of two
// ingress processes, one routing, two egress, Redis, dnsmasq and two sinks.
// Twenty messages sent through HAProxy with nodemailer from 127.0.0.9 each
// reach exactly the sink of their domain, through both ingress processes, and
// ingress saw the client's own address (the PROXY header), not HAProxy's; an
// ingress killed with SIGKILL is started again while HAProxy keeps accepting
// mail on the other; drained egress processes stay down until resumed, and
// mail acknowledged while they were down survives a Redis SIGKILL (the AOF);
// stop() leaves no process and no listener behind.
//
// Does not: measure throughput or recovery times (the benchmarks do).
import { connect } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { eventually, logLines, type SinkMessage } from '@petrel/testing';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../src/index.js';
import { isAlive, smtpGreeting } from '../src/probe.js';

/** The client's own loopback address: not HAProxy's (127.0.0.1). */
const CLIENT = '127.0.0.9';
const RECEIVED =
  /^Received: from client\.test \(\[127\.0\.0\.9\]\)\r\n\tby (ingress-[01])\.cluster\.test \(Petrel\) with ESMTP id /;

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ ingress: 2, routing: 1, egress: 2, sinks: 2 });
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
});

interface Sent {
  readonly id: string;
  readonly domain: string;
}

/** Sends `count` messages through HAProxy, alternating between d1.test and d2.test, `parallel` at a time. */
async function send(tag: string, count: number, parallel = 4): Promise<Sent[]> {
  const transport = nodemailer.createTransport({
    host: cluster.smtp.host,
    port: cluster.smtp.port,
    secure: false,
    ignoreTLS: true,
    localAddress: CLIENT,
    name: 'client.test',
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
  });
  const sent: Sent[] = [];
  const one = async (i: number): Promise<void> => {
    const domain = cluster.domains[i % cluster.domains.length]!;
    const id = `${tag}-${i}@client.test`;
    const info = await transport.sendMail({
      from: 'sender@client.test',
      to: `user${i}@${domain}`,
      subject: `${tag} ${i}`,
      text: `message ${i} of ${tag}\n`,
      messageId: `<${id}>`,
    });
    expect(info.response).toMatch(/^250 /);
    sent.push({ id, domain });
  };
  for (let i = 0; i < count; i += parallel)
    await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, (_, j) => one(i + j)));
  transport.close();
  return sent;
}

function messageId(message: SinkMessage): string {
  return /^Message-ID: <([^>]+)>/im.exec(message.body.toString('latin1'))?.[1] ?? '';
}

/** Which ingress process accepted it, from the Received: header on top. */
function acceptedBy(message: SinkMessage): string | null {
  return RECEIVED.exec(message.body.toString('latin1'))?.[1] ?? null;
}

/** Waits until the sinks hold `total` messages, then a little longer for any extra. */
async function settle(total: number): Promise<SinkMessage[]> {
  const deadline = Date.now() + 30_000;
  const all = (): SinkMessage[] => cluster.sinks.flatMap((sink) => sink.messages);
  while (all().length < total && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 500));
  return all();
}

/** Asserts that each sink holds exactly the messages sent to its domain. */
function expectEachSinkHasItsOwn(sent: readonly Sent[]): void {
  cluster.sinks.forEach((sink, k) => {
    const domain = cluster.domains[k]!;
    const expected = sent.filter((s) => s.domain === domain).map((s) => s.id);
    expect(sink.messages.map(messageId).sort()).toEqual(expected.sort());
    for (const message of sink.messages) {
      expect(message.rcptTo).toHaveLength(1);
      expect(message.rcptTo[0]!.endsWith(`@${domain}`)).toBe(true);
    }
  });
}

function refuses(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('the local cluster', () => {
  const sent: Sent[] = [];

  it('delivers 20 messages through HAProxy to the sink of each domain, with the real client address', async () => {
    sent.push(...(await send('first', 20)));
    const delivered = await settle(20);
    expect(delivered).toHaveLength(20);
    expectEachSinkHasItsOwn(sent);

    // Both ingress processes took mail, and each saw 127.0.0.9 (the PROXY v2 header), not HAProxy.
    expect(delivered.map(acceptedBy).every((by) => by !== null)).toBe(true);
    expect(new Set(delivered.map(acceptedBy))).toEqual(new Set(['ingress-0', 'ingress-1']));
    for (const process of cluster.processes().filter((p) => p.kind === 'ingress')) {
      const received = logLines(readFileSync(process.logFile, 'utf8')).filter(
        (line) => line.event === 'received',
      ) as unknown as { client: string }[];
      expect(received.length).toBeGreaterThan(0);
      expect(received.every((line) => line.client === CLIENT)).toBe(true);
    }
  });

  it('restarts an ingress killed with SIGKILL, and keeps accepting meanwhile', async () => {
    const before = cluster.processes().find((p) => p.kind === 'ingress' && p.index === 0)!.pid!;
    const exit = await cluster.kill('ingress', 0);
    expect(exit).toMatchObject({ pid: before, signal: 'SIGKILL' });
    expect(isAlive(before)).toBe(false);

    // While ingress-0 is down, HAProxy sends everything to ingress-1.
    sent.push(...(await send('during', 6, 2)));
    const after = await cluster.waitReady('ingress', 0, 20_000);
    expect(after).not.toBe(before);
    expect(cluster.events.map((e) => [e.kind, e.target])).toEqual(
      expect.arrayContaining([
        ['kill', 'ingress[0]'],
        ['exit', 'ingress[0]'],
        ['restart', 'ingress[0]'],
      ]),
    );
    const kill = cluster.events.find((e) => e.kind === 'kill')!;
    expect(kill).toMatchObject({ pid: before, signal: 'SIGKILL' });

    // Back in HAProxy's rotation once its health check passes.
    let batch = 0;
    for (;;) {
      sent.push(...(await send(`after${batch}`, 4, 1)));
      const delivered = await settle(sent.length);
      const viaRestarted = delivered.filter(
        (m) => messageId(m).startsWith('after') && acceptedBy(m) === 'ingress-0',
      );
      if (viaRestarted.length > 0 || ++batch === 5) break;
    }
    expect(batch).toBeLessThan(5);
    expect(cluster.sinks.flatMap((s) => s.messages)).toHaveLength(sent.length);
    expectEachSinkHasItsOwn(sent);
  });

  it('keeps drained egress down until resumed; mail acknowledged before a Redis crash survives it', async () => {
    const drained = await Promise.all([cluster.drain('egress', 0), cluster.drain('egress', 1)]);
    for (const result of drained) {
      expect(result.code).toBe(0);
      expect(result.elapsedMs).toBeLessThan(10_000);
    }
    // Acknowledged (250) while nothing delivers: only Redis's AOF holds it.
    sent.push(...(await send('queued', 4)));
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // well past restartDelayMs
    const egress = () => cluster.processes().filter((p) => p.kind === 'egress');
    expect(egress().map((p) => [p.state, p.pid])).toEqual([
      ['drained', undefined],
      ['drained', undefined],
    ]);
    expect(cluster.sinks.flatMap((s) => s.messages)).toHaveLength(sent.length - 4);

    await cluster.restartRedis();
    expect(cluster.events.slice(-2).map((e) => e.kind)).toEqual(['redis-kill', 'redis-restart']);
    const resumed = await Promise.all([cluster.resume('egress', 0), cluster.resume('egress', 1)]);
    expect(resumed).toEqual(egress().map((p) => p.pid));

    // Ingress answers 421 to new sessions until its Redis connection is back.
    await eventually(async () => {
      const greeting = await smtpGreeting(cluster.smtp.host, cluster.smtp.port);
      return greeting?.startsWith('220 ') === true ? true : undefined;
    }, 20_000);
    sent.push(...(await send('redis', 4)));
    await settle(sent.length);
    expectEachSinkHasItsOwn(sent);
  });

  it('stops everything it started, and stop() again is a no-op', async () => {
    const pids = cluster.pids();
    expect(pids.length).toBeGreaterThanOrEqual(7); // 2 + 1 + 2 services, HAProxy, Redis
    const local = (port: number): [string, number] => ['127.0.0.1', port];
    const listeners = [
      local(cluster.smtp.port),
      local(cluster.dns.port),
      local(Number(new URL(cluster.redis.url).port)),
      ...cluster.ingress.flatMap((i) => [local(i.proxyPort), local(i.directPort)]),
      ...cluster.processes().map((p) => local(p.metricsPort)),
      ...cluster.sinks.map((s): [string, number] => [s.host, s.port]),
    ];
    await cluster.stop();
    expect(pids.filter(isAlive)).toEqual([]);
    for (const [host, port] of listeners) expect(await refuses(host, port)).toBe(true);
    expect(cluster.pids()).toEqual([]);
    expect(existsSync(cluster.dir)).toBe(false);
    await cluster.stop();
  });
});
