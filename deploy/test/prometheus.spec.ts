// The dashboards and alerts against the real thing: ingress, routing and
// egress as processes (their dist), one Redis, a DNS server and an SMTP sink,
// under a small load that makes every kind of event the boards show happen
// (STARTTLS and AUTH, a refused password, relay denied, a recipient refused at
// RCPT, a 4yz and a 5yz from the next hop and the bounce it causes, a
// destination that refuses connections, a held delivery, a DNS SERVFAIL, and a
// store that fails because Redis paused its writes); and Debian's Prometheus
// scraping the three every second, with deploy/prometheus/petrel-rules.yml
// loaded. Then every query of every dashboard panel, and both sides of every
// alert's threshold, must return data, with the labels the panel's legend and
// grouping show.
//
// When a query returns nothing, the failure lists exactly which ones.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, scrypt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureServiceBuilt,
  eventually,
  freePort,
  killServices,
  makeCertificate,
  spawnService,
  startDnsServer,
  startRedis,
  startTestSink,
  uniquePrefix,
  type RedisHandle,
  type ServiceProcess,
  type TestDnsServer,
  type TestSink,
} from '@petrel/testing';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PROMETHEUS_INSTALL_HINT,
  RULES_FILE,
  alertSides,
  dashboardQueries,
  expectedLabels,
  loadAlerts,
  loadDashboards,
  substitute,
} from './deploy-files.js';

const SERVICES = ['routing', 'egress', 'ingress'] as const;
type Service = (typeof SERVICES)[number];
const DESTINATIONS = ['sink.test', 'down.test'];
/** How long, after the load, the queries have to return data. */
const SETTLE_MS = 20_000;

let tmp: string;
let redisServer: RedisHandle;
let redis: Redis;
let sink: TestSink;
let dns: TestDnsServer;
let prometheus: ChildProcess | null = null;
let prometheusOutput = '';
let prometheusUrl: string;
const services = new Map<Service, ServiceProcess>();
let settleBy = 0;

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function query(promql: string): Promise<Sample[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: Sample[] | [number, string] };
  };
  if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
  const { resultType, result } = body.data!;
  return resultType === 'vector' || resultType === 'matrix'
    ? (result as Sample[])
    : [{ metric: {}, value: result as [number, string] }];
}

/** A users-file line (scrypt, cheap parameters: tests only). */
async function usersLine(user: string, password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, 32, { N: 1024, r: 8, p: 1 }, (err, derived) =>
      err ? reject(err) : resolve(derived),
    ),
  );
  return `${user}:$scrypt$ln=10,r=8,p=1$${salt.toString('base64')}$${key.toString('base64')}\n`;
}

/** The replies of one SMTP session, one at a time (multi-line replies whole). */
function replies(socket: Socket): () => Promise<string> {
  let buffer = '';
  const ready: string[] = [];
  const waiting: { resolve: (reply: string) => void; reject: (err: Error) => void }[] = [];
  let lines: string[] = [];
  socket.setTimeout(10_000, () => socket.destroy(new Error('no reply within 10 s')));
  socket.on('error', () => undefined);
  socket.on('close', () => {
    for (const w of waiting.splice(0))
      w.reject(new Error(`connection closed: ${lines.join('\n')}`));
  });
  socket.setEncoding('latin1').on('data', (chunk: string) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      lines.push(line);
      if (/^\d{3}(?: |$)/.test(line)) {
        const reply = lines.join('\n');
        lines = [];
        const next = waiting.shift();
        if (next) next.resolve(reply);
        else ready.push(reply);
      }
    }
  });
  return () => {
    if (ready.length > 0) return Promise.resolve(ready.shift()!);
    if (socket.destroyed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };
}

/**
 * One message whose store fails: Redis pauses every write (CLIENT PAUSE WRITE)
 * just before the final dot, for longer than ingress's redis.commandTimeout.
 * Resolves with ingress's reply to the dot.
 */
async function storeDuringPause(port: number): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  const next = replies(socket);
  const say = async (line: string) => {
    socket.write(`${line}\r\n`);
    return next();
  };
  try {
    await next();
    await say('EHLO client.test');
    await say('MAIL FROM:<sender@client.test>');
    await say('RCPT TO:<paused@sink.test>');
    await say('DATA');
    socket.write('Subject: stored while Redis pauses\r\n\r\nHello.\r\n');
    await redis.call('CLIENT', 'PAUSE', '1500', 'WRITE');
    const reply = await say('.');
    await say('QUIT');
    return reply;
  } finally {
    socket.destroy();
  }
}

async function startPrometheus(ports: Record<Service, number>): Promise<void> {
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [RULES_FILE],
    scrape_configs: SERVICES.map((service) => ({
      job_name: `petrel-${service}`,
      static_configs: [{ targets: [`127.0.0.1:${ports[service]}`] }],
    })),
  };
  const file = join(tmp, 'prometheus.yml');
  writeFileSync(file, stringify(config));
  const child = spawn(
    'prometheus',
    [
      `--config.file=${file}`,
      `--storage.tsdb.path=${join(tmp, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus = child;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (prometheusOutput += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (prometheusOutput += d));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) =>
      reject(new Error(`${PROMETHEUS_INSTALL_HINT} (${err.message})`, { cause: err })),
    );
    child.once('exit', (code) =>
      reject(new Error(`prometheus exited ${code}: ${prometheusOutput}`)),
    );
  });
  failed.catch(() => undefined);
  await Promise.race([
    failed,
    eventually(async () => {
      const response = await fetch(`${prometheusUrl}/-/ready`);
      return response.status === 200 ? true : undefined;
    }, 15_000),
  ]);
}

beforeAll(async () => {
  // One at a time: two Nx builds of the same libraries at once race on their dist.
  for (const service of SERVICES) await ensureServiceBuilt(service);
  tmp = mkdtempSync(join(tmpdir(), 'petrel-prometheus-'));
  // Our own Redis: the test pauses its writes, and sets a maxmemory to compare with.
  redisServer = await startRedis({ own: true, extraArgs: ['--maxmemory', '1gb'] });
  redis = new Redis(redisServer.url);
  sink = await startTestSink();
  dns = await startDnsServer({
    records: [
      { type: 'MX', name: 'mx.sink.test', exchange: 'host.sink.test', preference: 10 },
      { type: 'A', name: 'host.sink.test', address: '127.0.0.1' },
    ],
    behaviours: { 'broken.test': 'servfail' },
  });
  const { cert, key } = await makeCertificate(tmp);
  const usersFile = join(tmp, 'users');
  writeFileSync(usersFile, await usersLine('alice', 'secret'));
  const [smtpPort, grpcPort, deadPort] = [await freePort(), await freePort(), await freePort()];
  const ports = {} as Record<Service, number>;
  for (const service of SERVICES) ports[service] = await freePort();

  const config = {
    redis: { url: redisServer.url, durability: 'fsync', prefix: uniquePrefix('prometheus') },
    ingress: {
      hostname: 'relay.petrel.test',
      listeners: [{ host: '127.0.0.1', port: smtpPort }],
      // Nobody is trusted: relay permission and AUTH decide.
      trustedNetworks: [],
      relayDomains: ['sink.test', 'down.test', 'held.test', 'broken.test', 'nx.test'],
      tls: { cert, key },
      auth: { usersFile },
      resolve: { address: `127.0.0.1:${grpcPort}`, timeout: '2s' },
    },
    routing: {
      transports: {
        // The MX records of mx.sink.test (DNS, cached), on the sink's port.
        'sink.test': `smtp:mx.sink.test:${sink.port}`,
        // Where the bounces to the senders go.
        'client.test': `smtp:[127.0.0.1]:${sink.port}`,
        // Nobody listens there: deferred, reason connect.
        'down.test': `smtp:[127.0.0.1]:${deadPort}`,
        'held.test': 'hold',
      },
      dns: { servers: [dns.address], timeout: '500ms' },
      grpc: { host: '127.0.0.1', port: grpcPort },
    },
    egress: {
      tls: 'opportunistic',
      retry: { schedule: ['1h'], maxLifetime: '1d' },
      timeouts: { connect: '2s' },
    },
    metrics: { host: '127.0.0.1', destinations: DESTINATIONS },
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: 'warn' },
  };
  const configFile = join(tmp, 'petrel.yaml');
  writeFileSync(configFile, stringify(config));

  for (const service of SERVICES)
    services.set(
      service,
      spawnService(service, {
        PETREL_CONFIG: configFile,
        PETREL_METRICS__PORT: String(ports[service]),
        // A store slower than this is a 451: the pause below makes one.
        ...(service === 'ingress' ? { PETREL_REDIS__COMMAND_TIMEOUT: '300ms' } : {}),
      }),
    );
  await eventually(async () => {
    for (const [name, s] of services)
      if (s.child.exitCode !== null) throw new Error(`${name} exited: ${s.stderr()}`);
    const ready = await Promise.all(
      SERVICES.map((service) =>
        fetch(`http://127.0.0.1:${ports[service]}/readyz`)
          .then((r) => r.status === 200)
          .catch(() => false),
      ),
    );
    return ready.every(Boolean) ? true : undefined;
  }, 20_000);
  await startPrometheus(ports);

  // The load.
  const base = { host: '127.0.0.1', port: smtpPort, name: 'client.test' };
  const tls = { rejectUnauthorized: false };
  const authed = nodemailer.createTransport({
    ...base,
    requireTLS: true,
    tls,
    auth: { user: 'alice', pass: 'secret' },
  });
  const tlsOnly = nodemailer.createTransport({ ...base, requireTLS: true, tls });
  const plain = nodemailer.createTransport({ ...base, ignoreTLS: true });
  const wrongPassword = nodemailer.createTransport({
    ...base,
    requireTLS: true,
    tls,
    auth: { user: 'alice', pass: 'wrong' },
  });
  const mail = (to: string[], subject = 'load') => ({
    from: 'sender@client.test',
    to,
    subject,
    text: 'A message for the dashboards.',
  });
  // Delivered, deferred (451 from the next hop), bounced (550): and a DSN back to the sender.
  await authed.sendMail(mail(['a@sink.test', 'tempfail-b@sink.test', 'reject-c@sink.test']));
  await authed.sendMail(mail(['d@down.test']));
  await authed.sendMail(mail(['e@held.test']));
  await tlsOnly.sendMail(mail(['f@broken.test']));
  for (let i = 0; i < 4; i++) await plain.sendMail(mail([`g${i}@sink.test`]));
  // Refused at RCPT (NXDOMAIN, asked of routing), relay denied, a wrong password.
  await expect(plain.sendMail(mail(['h@nx.test']))).rejects.toThrow(/550/);
  await expect(plain.sendMail(mail(['i@elsewhere.test']))).rejects.toThrow(/554/);
  await expect(wrongPassword.sendMail(mail(['j@sink.test']))).rejects.toThrow(/535/);
  for (const transport of [authed, tlsOnly, plain, wrongPassword]) transport.close();
  // a, the bounce for reject-c, and the four g's.
  await sink.waitForMessages(6, 20_000);
  expect(await storeDuringPause(smtpPort)).toMatch(/^451 4\.3\.0/);
  settleBy = Date.now() + SETTLE_MS;
}, 300_000);

afterAll(async () => {
  if (prometheus !== null && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
    prometheus.kill('SIGTERM');
    const timer = setTimeout(() => prometheus?.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  killServices();
  redis?.disconnect();
  await sink?.close();
  await dns?.close();
  await redisServer?.stop();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

interface Check {
  readonly where: string;
  readonly promql: string;
  readonly labels: readonly string[];
}

interface Report {
  /** "where: promql" of each query that returned nothing. */
  readonly noData: string[];
  /** Queries whose series lack a label the panel shows. */
  readonly wrongLabels: string[];
}

async function evaluate(checks: readonly Check[]): Promise<Report> {
  const noData: string[] = [];
  const wrongLabels: string[] = [];
  await Promise.all(
    checks.map(async ({ where, promql, labels }) => {
      let result: Sample[];
      try {
        result = await query(promql);
      } catch (err) {
        noData.push(`${where}: ${String(err)}`);
        return;
      }
      if (result.length === 0) noData.push(`${where}: ${promql}`);
      for (const { metric } of result) {
        const lacking = labels.filter((label) => !(label in metric));
        if (lacking.length > 0)
          wrongLabels.push(`${where}: ${JSON.stringify(metric)} lacks ${lacking.join(', ')}`);
      }
    }),
  );
  return { noData: noData.sort(), wrongLabels: wrongLabels.sort() };
}

/** Evaluates until every check has data, or until settleBy; the last report. */
async function settle(checks: readonly Check[]): Promise<Report> {
  let last: Report = { noData: [], wrongLabels: [] };
  await eventually(
    async () => {
      last = await evaluate(checks);
      if (last.noData.length === 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 250)); // one scrape in four
      return undefined;
    },
    Math.max(0, settleBy - Date.now()),
  ).catch(() => undefined);
  return last;
}

describe('Prometheus scraping a running relay', () => {
  it('scrapes all three services', async () => {
    const up = await eventually(async () => {
      const samples = await query('up');
      return samples.length === 3 && samples.every((s) => s.value[1] === '1') ? samples : undefined;
    });
    expect(up.map((s) => s.metric['job']).sort()).toEqual([
      'petrel-egress',
      'petrel-ingress',
      'petrel-routing',
    ]);
  });

  it('has data for every query of every dashboard panel, with the labels the panel shows', async () => {
    const files = loadDashboards();
    const checks = files.flatMap((f) =>
      dashboardQueries([f]).map((q) => {
        const promql = substitute(q.expr, f.dashboard.templating.list);
        return { where: q.where, promql, labels: expectedLabels(promql, q.legendFormat) };
      }),
    );
    // The query variables too: their label exists.
    for (const f of files)
      for (const v of f.dashboard.templating.list.filter((v) => v.type === 'query')) {
        const [, metric, label] = /^label_values\((\w+), (\w+)\)$/.exec(v.definition ?? '')!;
        checks.push({
          where: `${f.file} / $${v.name}`,
          promql: `count by (${label}) (${metric})`,
          labels: [label!],
        });
      }
    const report = await settle(checks);
    expect.soft(report.noData, 'dashboard queries that returned no data').toEqual([]);
    expect.soft(report.wrongLabels, 'dashboard queries without the labels they show').toEqual([]);
  });

  it("has data for both sides of every alert's threshold, and evaluates every rule without error", async () => {
    const checks = loadAlerts().flatMap((alert) =>
      alertSides(alert.expr).map((side, n) => {
        // A subquery's resolution shrinks to the scrape interval: the test has seconds of data.
        const promql = side.replace(/\[(\d+[smhd]):\d+[smhd]\]/g, '[$1:1s]');
        const shown = [
          ...Object.values(alert.annotations ?? {})
            .join(' ')
            .matchAll(/\$labels\.(\w+)/g),
        ].map((m) => m[1]!);
        return {
          where: `petrel-rules.yml / ${alert.alert} (side ${n + 1})`,
          promql,
          labels: [...new Set([...expectedLabels(promql, ''), ...(n === 0 ? shown : [])])],
        };
      }),
    );
    const report = await settle(checks);
    expect.soft(report.noData, 'alert expressions that returned no data').toEqual([]);
    expect
      .soft(report.wrongLabels, 'alert expressions without the labels their annotations show')
      .toEqual([]);

    const rules = await eventually(async () => {
      const response = await fetch(`${prometheusUrl}/api/v1/rules`);
      const body = (await response.json()) as {
        data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
      };
      const all = body.data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
    });
    expect(rules.map((r) => r.name).sort()).toEqual(
      loadAlerts()
        .map((a) => a.alert)
        .sort(),
    );
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual(
      [],
    );
  });

  it('labels destinations only with metrics.destinations or other', async () => {
    const samples = await query(
      'count by (destination) ({__name__=~"petrel_.+", destination!=""})',
    );
    const seen = samples.map((s) => s.metric['destination']!).sort();
    expect(
      seen.every((d) => [...DESTINATIONS, 'other'].includes(d)),
      seen.join(', '),
    ).toBe(true);
    expect(seen).toEqual(expect.arrayContaining(['sink.test', 'down.test', 'other']));
  });

  it('has HELP text for every Petrel metric, and docs/operations.md lists each one', async () => {
    const response = await fetch(`${prometheusUrl}/api/v1/metadata`);
    const metadata = (await response.json()) as {
      data: Record<string, { type: string; help: string }[]>;
    };
    const own = Object.entries(metadata.data).filter(
      ([name]) =>
        name.startsWith('petrel_') &&
        !name.startsWith('petrel_process_') &&
        !name.startsWith('petrel_nodejs_'),
    );
    expect(own.length).toBeGreaterThan(30);
    expect(own.filter(([, [m]]) => (m?.help ?? '').length < 10).map(([name]) => name)).toEqual([]);
    const docs = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    expect(own.map(([name]) => name).filter((name) => !docs.includes(`\`${name}\``))).toEqual([]);
  });
});
