#!/usr/bin/env node
// The local cluster from the command line:
//
//   node bench/cluster/dist/cli.js up --ingress 3 --routing 1 --egress 3 --sinks 2
//
// starts a cluster (cluster.ts), prints where everything is, prints each
// fault event as it happens (a process that crashed and was restarted) and
// each message a sink receives (saved as <dir>/sink-<k>/<n>.eml), and runs
// until SIGINT or SIGTERM, then stops everything it started and exits 0. The
// directory with the logs, the configuration and the messages is kept after
// the stop.
//
// Does not: inject faults itself (a benchmark does, through the API), or
// read a configuration file: --config takes a JSON object merged over the
// cluster's configuration.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster, type Cluster, type ClusterSpec } from './cluster.js';
import type { ConfigObject, Durability } from './config.js';
import type { ClusterEvent } from './events.js';

const USAGE = `usage: cli.js up [--ingress N] [--routing N] [--egress N] [--sinks N]
                 [--durability none|fsync|replicas] [--restart-delay MS] [--config JSON]`;

function count(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name}: a positive integer`);
  return parsed;
}

function durability(value: string | undefined): Durability {
  if (value === undefined) return 'fsync';
  if (value === 'none' || value === 'fsync' || value === 'replicas') return value;
  throw new Error('--durability: none, fsync or replicas');
}

function config(value: string | undefined): ConfigObject | undefined {
  if (value === undefined) return undefined;
  const parsed = JSON.parse(value) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('--config: a JSON object');
  return parsed as ConfigObject;
}

/** The cluster spec from the command line, or an error saying what is wrong. */
function specFromArgs(args: readonly string[]): ClusterSpec {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      ingress: { type: 'string' },
      routing: { type: 'string' },
      egress: { type: 'string' },
      sinks: { type: 'string' },
      durability: { type: 'string' },
      'restart-delay': { type: 'string' },
      config: { type: 'string' },
    },
  });
  if (positionals.length !== 1 || positionals[0] !== 'up') throw new Error(USAGE);
  const extra = config(values.config);
  return {
    ingress: count(values.ingress, 1, 'ingress'),
    routing: count(values.routing, 1, 'routing'),
    egress: count(values.egress, 1, 'egress'),
    sinks: count(values.sinks, 1, 'sinks'),
    durability: durability(values.durability),
    restartDelayMs: count(values['restart-delay'], 500, 'restart-delay'),
    keepDir: true,
    ...(extra === undefined ? {} : { config: extra }),
  };
}

/** What the operator needs: where to send mail, where each process and log is. */
function describe(cluster: Cluster): string {
  const lines = [
    `smtp (HAProxy, PROXY v2 to ingress): ${cluster.smtp.address}`,
    `redis: ${cluster.redis.url} (pid ${cluster.redis.pid ?? '?'})`,
    ...(cluster.replica === null ? [] : [`redis replica: ${cluster.replica.url}`]),
    `dns (dnsmasq): ${cluster.dns.address}`,
    ...cluster.sinks.map(
      (sink, i) => `sink ${i + 1}: ${sink.host}:${sink.port} receives @${cluster.domains[i]}`,
    ),
    ...cluster.ingress.map(
      (ingress) =>
        `ingress[${ingress.index}] ${ingress.hostname}: proxy 127.0.0.1:${ingress.proxyPort}, ` +
        `direct 127.0.0.1:${ingress.directPort}`,
    ),
    ...cluster.routingGrpcPorts.map((port, i) => `routing[${i}] gRPC: 127.0.0.1:${port}`),
    ...cluster
      .processes()
      .map(
        (p) =>
          `${p.kind}[${p.index}] pid ${p.pid ?? '-'}: metrics http://127.0.0.1:${p.metricsPort}/metrics, log ${p.logFile}`,
      ),
    `configuration: ${cluster.configFile}`,
    `directory (kept after the stop): ${cluster.dir}`,
  ];
  return lines.join('\n');
}

function printEvent(event: ClusterEvent): void {
  const details = [
    event.pid === undefined ? '' : ` pid ${event.pid}`,
    event.signal == null ? '' : ` ${event.signal}`,
    event.code == null ? '' : ` code ${event.code}`,
  ].join('');
  console.log(`${event.time} ${event.kind} ${event.target}${details}`);
}

/**
 * Every 500 ms, writes the messages the sinks received since the last look to
 * <dir>/sink-<k>/<n>.eml and prints one line each. Returns the timer.
 */
function reportSinkMessages(cluster: Cluster): NodeJS.Timeout {
  const seen = cluster.sinks.map(() => 0);
  cluster.sinks.forEach((_, i) => mkdirSync(join(cluster.dir, `sink-${i + 1}`)));
  return setInterval(() => {
    cluster.sinks.forEach((sink, i) => {
      for (; seen[i]! < sink.messages.length; seen[i]!++) {
        const message = sink.messages[seen[i]!]!;
        const file = join(cluster.dir, `sink-${i + 1}`, `${seen[i]! + 1}.eml`);
        writeFileSync(file, message.body);
        console.log(
          `sink ${i + 1} received <${message.mailFrom}> -> ${message.rcptTo.map((r) => `<${r}>`).join(' ')}: ${file}`,
        );
      }
    });
  }, 500);
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => resolve(signal);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

async function main(args: readonly string[]): Promise<number> {
  let spec: ClusterSpec;
  try {
    spec = specFromArgs(args);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 64;
  }
  const stopRequested = untilSignal();
  const cluster = await startCluster({ ...spec, onEvent: printEvent });
  console.log(describe(cluster));
  console.log(`ready; send a message: swaks --server ${cluster.smtp.address} --to someone@d1.test`);
  console.log('Ctrl-C (SIGINT) or SIGTERM stops everything');
  const reporter = reportSinkMessages(cluster);
  const signal = await stopRequested;
  console.log(`${signal}: stopping`);
  await cluster.stop();
  console.log(`stopped; logs in ${cluster.dir}`);
  clearInterval(reporter);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
