// Transactions routed per second by one routing process on one core: each
// transaction has 10 recipients in 3 domains (4 + 3 at two domains whose MX
// records name one host, 3 at a third), so it becomes 2 deliveries; the DNS
// cache is warm (the answers' TTL is 1 hour). The routing process is the
// built service (apps/routing/dist/main.js, default settings: concurrency 16,
// log level info to /dev/null) pinned to CPU 0; Redis (AOF, appendfsync
// always, as npm start runs it) and the DNS server (libs/testing's, in this
// process) on CPU 1.
//
// Per run: N transactions are stored through the real store path into a
// paused queue; routing starts and says ready; the queue is resumed; the run
// ends when the queue is empty. Figures: routed per wall-clock second, and
// routed per CPU-second of the routing process (utime + stime from /proc,
// over the same interval): the "per core" figure. Median of RUNS runs, min
// and max beside it; results/latest.json has every run.
//
// The floor: the same runs with a BullMQ worker that does nothing with each
// job (noop-worker.mjs, routing's worker settings), so that the figure can be
// read against what BullMQ's own per-job work costs on this machine.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QUEUES, TransactionStore, newMessageId } from '@petrel/queue';
import { DEFAULT_LIMITS, parsePath } from '@petrel/smtp';
import { freePort, spawnRedis, startDnsServer, uniquePrefix } from '@petrel/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const RUNS = Number(process.env.PETREL_BENCH_RUNS ?? 5);
const TRANSACTIONS = Number(process.env.PETREL_BENCH_TRANSACTIONS ?? 20_000);
const TARGET_PER_CORE = 5_000;
/** routing.concurrency's default. */
const CONCURRENCY = process.env.PETREL_BENCH_CONCURRENCY ?? '64';
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

const path = (text) => {
  const parsed = parsePath(text, { kind: 'forward', utf8Allowed: false, limits: DEFAULT_LIMITS });
  if (!parsed.ok) throw new Error(text);
  return parsed.path;
};

const RECIPIENTS = [
  ...[1, 2, 3, 4].map((i) => `<user${i}@alpha.test>`),
  ...[1, 2, 3].map((i) => `<user${i}@beta.test>`),
  ...[1, 2, 3].map((i) => `<user${i}@gamma.test>`),
].map((to) => ({ forwardPath: path(to), parameters: {} }));
const BODY = Buffer.from(
  'Received: from client.test by mx.petrel.test; Mon, 23 Nov 2026 18:00:00 +0000\r\n' +
    'From: sender@alpha.test\r\nSubject: bench\r\n\r\n' +
    'x'.repeat(2000) +
    '\r\n',
);

async function waitReady(port, child) {
  for (const until = Date.now() + 20_000; Date.now() < until;) {
    if (child.exitCode !== null) throw new Error('routing exited');
    const status = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((r) => r.status)
      .catch(() => 0);
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('routing not ready');
}

async function oneRun(redisUrl, dnsAddress, kind = 'routing') {
  const prefix = uniquePrefix('bench-routing');
  const redis = new Redis(redisUrl);
  const queue = new Queue(QUEUES.transactions, { connection: redis, prefix });
  await queue.pause();
  const store = new TransactionStore({
    redis,
    prefix,
    durability: 'none',
    replicas: 0,
    durabilityTimeoutMs: 1000,
  });
  await store.init();
  const pending = [];
  for (let i = 0; i < TRANSACTIONS; i++) {
    pending.push(
      store.store(
        {
          id: newMessageId(),
          receivedAt: new Date().toISOString(),
          client: {
            address: '192.0.2.9',
            port: 40000,
            helo: null,
            tls: null,
            auth: null,
            proxied: false,
            trusted: false,
          },
          ingress: { hostname: 'mx.petrel.test', instance: 'bench' },
          verb: 'MAIL',
          reversePath: path('<sender@alpha.test>'),
          parameters: {},
          recipients: RECIPIENTS,
        },
        [BODY],
      ),
    );
    if (pending.length >= 500) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);

  const metricsPort = await freePort();
  // PETREL_BENCH_PROFILE=<dir>: a V8 CPU profile of each routing process there.
  const profile = process.env.PETREL_BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PETREL_BENCH_PROFILE}`]
    : [];
  const command =
    kind === 'routing'
      ? [...profile, join(root, 'apps/routing/dist/main.js')]
      : [join(here, 'noop-worker.mjs'), redisUrl, prefix, CONCURRENCY];
  const child = spawn('taskset', ['-c', '0', process.execPath, ...command], {
    stdio: ['ignore', kind === 'routing' ? 'ignore' : 'pipe', 'pipe'],
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PETREL_'))),
      PETREL_REDIS__URL: redisUrl,
      PETREL_REDIS__PREFIX: `'${prefix}'`,
      PETREL_INGRESS__HOSTNAME: 'mx.petrel.test',
      PETREL_ROUTING__DNS: `{servers: ['${dnsAddress}'], timeout: 2s}`,
      PETREL_ROUTING__GRPC__PORT: '0',
      PETREL_ADMIN__PORT: '0',
      PETREL_METRICS__PORT: String(metricsPort),
      PETREL_ROUTING__CONCURRENCY: CONCURRENCY,
    },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    if (kind === 'routing') await waitReady(metricsPort, child);
    else await new Promise((resolve) => child.stdout.once('data', resolve));
    // Warm the DNS cache: one transaction routed before the clock starts.
    const started = { cpu: cpuSeconds(child.pid), at: process.hrtime.bigint() };
    await queue.resume();
    for (;;) {
      const left = await queue.getJobCountByTypes('waiting', 'active', 'paused');
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const wall = Number(process.hrtime.bigint() - started.at) / 1e9;
    const cpu = cpuSeconds(child.pid) - started.cpu;
    const deliveries = await new Queue(QUEUES.deliveries, { connection: redis, prefix }).count();
    if (kind === 'routing' && deliveries !== 2 * TRANSACTIONS)
      throw new Error(`expected ${2 * TRANSACTIONS} deliveries, got ${deliveries}`);
    return {
      transactions: TRANSACTIONS,
      wall,
      cpu,
      perSecond: TRANSACTIONS / wall,
      perCore: TRANSACTIONS / cpu,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    if (child.exitCode !== 0 && child.signalCode === null) process.stderr.write(stderr);
    await store.close();
    await queue.close();
    await redis.flushall();
    redis.disconnect();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The Redis child is unref'd (a harness choice): keep this process up until the end.
const keepAlive = setInterval(() => undefined, 1000);
const redis = await spawnRedis({ appendfsync: 'always' });
const redisPid = redis.pid;
if (redisPid !== undefined)
  spawnSync('taskset', ['-pc', '1', String(redisPid)], { stdio: 'ignore' });
spawnSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });
const dns = await startDnsServer({
  records: [
    { type: 'MX', name: 'alpha.test', exchange: 'mx1.hosts.test', preference: 10, ttl: 3600 },
    { type: 'MX', name: 'beta.test', exchange: 'mx1.hosts.test', preference: 10, ttl: 3600 },
    { type: 'MX', name: 'gamma.test', exchange: 'mx2.hosts.test', preference: 10, ttl: 3600 },
  ],
});
const runs = [];
const floor = [];
try {
  await oneRun(redis.url, dns.address); // warm-up: JIT, Redis, the first DNS answers
  for (let i = 0; i < RUNS; i++) {
    for (const kind of ['routing', 'noop']) {
      const run = await oneRun(redis.url, dns.address, kind);
      (kind === 'routing' ? runs : floor).push(run);
      console.log(
        `run ${i + 1} ${kind}: ${run.transactions} transactions in ${run.wall.toFixed(2)} s, CPU ${run.cpu.toFixed(2)} s: ` +
          `${Math.round(run.perSecond)}/s, ${Math.round(run.perCore)}/s per core`,
      );
    }
  }
} finally {
  await dns.close();
  await redis.stop();
}
clearInterval(keepAlive);

const perCore = runs.map((r) => r.perCore);
const perSecond = runs.map((r) => r.perSecond);
const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log('');
console.log('| figure | median | min | max | target |');
console.log('|---|---:|---:|---:|---:|');
console.log(
  `| transactions routed per CPU-second of routing (per core) | ${fmt(median(perCore))} | ${fmt(Math.min(...perCore))} | ${fmt(Math.max(...perCore))} | ≥ ${fmt(TARGET_PER_CORE)}: ${median(perCore) >= TARGET_PER_CORE ? 'met' : 'missed'} |`,
);
console.log(
  `| transactions routed per wall-clock second | ${fmt(median(perSecond))} | ${fmt(Math.min(...perSecond))} | ${fmt(Math.max(...perSecond))} | — |`,
);
const floorCore = floor.map((r) => r.perCore);
console.log(
  `| the floor: jobs per CPU-second of a BullMQ worker doing nothing | ${fmt(median(floorCore))} | ${fmt(Math.min(...floorCore))} | ${fmt(Math.max(...floorCore))} | — |`,
);
mkdirSync(join(here, '../results'), { recursive: true });
writeFileSync(
  join(here, '../results/latest.json'),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      transactions: TRANSACTIONS,
      concurrency: Number(CONCURRENCY),
      runs,
      floor,
    },
    null,
    2,
  ) + '\n',
);
