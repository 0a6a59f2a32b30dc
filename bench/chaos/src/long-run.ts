#!/usr/bin/env node
// The long chaos run from the command line (docs/benchmarks.md):
//
//   node bench/chaos/dist/long-run.js --messages 50000 --faults 102 --rate 80 \
//     --seed 20261124 --out bench/chaos/results/long-2026-11-24
//
// starts the cluster of the CI chaos test (chaos-cluster.ts: 2 ingress, 2
// routing, 2 egress, 2 next hops, Redis with appendfsync always), runs
// runChaos() on it with a timeline sampled every second, and writes into
// --out: report.json (the ledger's figures, the faults with their moments,
// the queues after the drain, the processes' restarts, the machine),
// faults.tsv, timeline.tsv (for scripts/plot_timeline.py) and run.log
// (everything this process printed). It asserts what the CI test asserts
// (every fault applied, at least --faults/6 of each kind, nothing given a
// 250 lost, no job failed or left queued, every message given a 250, every
// duplicate explained by a fault) and exits 1 if any does not hold; then
// the cluster's logs are copied into --out/cluster-logs for the post-mortem
// (else they are removed, unless --keep-logs).
//
// --faults is the total, spread evenly over the six kinds (rounded up to a
// multiple of six); --faults-per-kind sets the same directly.
//
// Root only (iptables, HAProxy). Every address is in 127.0.0.0/8.
//
// Does not: plot (scripts/plot_timeline.py does), or run in CI.

import { cpSync, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCluster, type Cluster } from '@petrel/bench-cluster';
import { chaosClusterSpec } from './chaos-cluster.js';
import { chaosTarget } from './cluster-target.js';
import { FAULT_KINDS } from './faults.js';
import { canCutOff } from './next-hop-faults.js';
import { saveReport } from './report-files.js';
import { runChaos, type ChaosReport } from './runner.js';

const USAGE = `usage: long-run.js [--messages N] [--faults N | --faults-per-kind N] [--rate N]
                   [--clients N] [--seed N] [--out DIR] [--drain-timeout S] [--sample-every MS]
                   [--keep-logs]`;

/** bench/chaos/results, from dist/long-run.js. */
const RESULTS = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'results');

interface Args {
  readonly messages: number;
  readonly faultsPerKind: number;
  readonly rate: number;
  readonly clients: number;
  readonly seed: number;
  readonly out: string;
  readonly drainTimeoutMs: number;
  readonly sampleEveryMs: number;
  /** Copy the cluster's logs into --out/cluster-logs whatever the outcome. */
  readonly keepLogs: boolean;
}

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: a positive number`);
  return n;
}

function parse(argv: readonly string[]): Args {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      messages: { type: 'string' },
      faults: { type: 'string' },
      'faults-per-kind': { type: 'string' },
      rate: { type: 'string' },
      clients: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'drain-timeout': { type: 'string' },
      'sample-every': { type: 'string' },
      'keep-logs': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const perKind =
    values['faults-per-kind'] !== undefined
      ? positive(values['faults-per-kind'], 17, 'faults-per-kind')
      : Math.ceil(positive(values.faults, 102, 'faults') / FAULT_KINDS.length);
  const date = new Date().toISOString().slice(0, 10);
  return {
    messages: Math.round(positive(values.messages, 50_000, 'messages')),
    faultsPerKind: Math.round(perKind),
    rate: positive(values.rate, 80, 'rate'),
    clients: Math.round(positive(values.clients, 16, 'clients')),
    seed: values.seed !== undefined ? Number(values.seed) : Date.now() % 1_000_000,
    out: resolve(values.out ?? join(RESULTS, `long-${date}`)),
    drainTimeoutMs: positive(values['drain-timeout'], 180, 'drain-timeout') * 1_000,
    sampleEveryMs: positive(values['sample-every'], 1_000, 'sample-every'),
    keepLogs: values['keep-logs'] === true,
  };
}

/** Everything this process prints also goes to <out>/run.log. */
function teeTo(file: string): void {
  const log = createWriteStream(file, { flags: 'a' });
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      log.write(typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : String(chunk));
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

/** What the CI test asserts, as sentences; none when the run passed. */
function failures(report: ChaosReport, perKind: number): string[] {
  const out: string[] = [];
  const { ledger, queue } = report;
  const failedFaults = report.faults.filter((f) => f.error !== undefined);
  if (failedFaults.length > 0) out.push(`faults not applied: ${JSON.stringify(failedFaults)}`);
  for (const [kind, count] of Object.entries(report.faultsByKind))
    if (count < perKind) out.push(`${kind}: ${count} faults, fewer than ${perKind}`);
  if (ledger.lost.length > 0)
    out.push(`seed ${report.seed}: ${ledger.lost.length} lost: ${ledger.lost.join(' ')}`);
  if (queue.failed !== 0) out.push(`${queue.failed} jobs failed`);
  if (report.postMortem !== undefined)
    out.push(`post-mortem (also in report.json): ${JSON.stringify(report.postMortem)}`);
  if (queue.pending !== 0) out.push(`${queue.pending} jobs still queued after the drain`);
  if (ledger.accepted !== ledger.sent)
    out.push(`${ledger.sent - ledger.accepted} messages never given a 250`);
  const unexplained = ledger.duplicates.filter((d) => d.cause === 'unexplained');
  if (unexplained.length > 0)
    out.push(`${unexplained.length} duplicates no fault explains: ${JSON.stringify(unexplained)}`);
  return out;
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  if (!canCutOff()) {
    console.error('long-run: needs root and iptables (next hops are cut off by dropping packets)');
    return 2;
  }
  mkdirSync(args.out, { recursive: true });
  teeTo(join(args.out, 'run.log'));
  const command = `node bench/chaos/dist/long-run.js ${process.argv.slice(2).join(' ')}`;
  const startedAt = new Date();
  console.log(`long-run: ${startedAt.toISOString()}: ${command}`);
  console.log(`long-run: ${JSON.stringify(args)}`);

  const started: { cluster?: Cluster } = {};
  const stop = async (signal: string): Promise<void> => {
    console.error(`long-run: ${signal}: stopping the cluster`);
    await started.cluster?.stop();
    process.exit(130);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  const cluster = await startCluster(chaosClusterSpec({ keepDir: true }));
  started.cluster = cluster;
  console.log(`long-run: cluster up (${cluster.dir}), SMTP at ${cluster.smtp.address}`);
  let code = 1;
  try {
    const report = await runChaos(chaosTarget(cluster), {
      messages: args.messages,
      ratePerSecond: args.rate,
      clients: args.clients,
      seed: args.seed,
      faultsPerKind: args.faultsPerKind,
      drainTimeoutMs: args.drainTimeoutMs,
      sampleEveryMs: args.sampleEveryMs,
    });
    const problems = failures(report, args.faultsPerKind);
    const restarts = Object.fromEntries(
      cluster.processes().map((p) => [`${p.kind}[${p.index}]`, p.restarts]),
    );
    const events: Record<string, number> = {};
    for (const e of cluster.events) events[e.kind] = (events[e.kind] ?? 0) + 1;
    saveReport(args.out, report, {
      command,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        kernel: release(),
        node: process.version,
      },
      restarts,
      clusterEvents: events,
      passed: problems.length === 0,
      problems,
    });
    const { ledger, queue } = report;
    console.log(
      `chaos (seed ${report.seed}): ${ledger.sent} sent, ${ledger.accepted} given a 250, ` +
        `${ledger.delivered} delivered, ${ledger.lost.length} lost, ${ledger.duplicates.length} duplicates, ` +
        `${ledger.neverAccepted.length} never accepted, ${queue.pending} still queued, ${queue.failed} failed; ` +
        `load ${report.loadMs} ms, drain ${report.drainMs} ms, ${report.attempts} attempts; ` +
        `faults ${JSON.stringify(report.faultsByKind)}`,
    );
    console.log(`  duplicates by cause ${JSON.stringify(report.duplicatesByCause)}`);
    for (const d of ledger.duplicates)
      console.log(`  duplicate ${d.recipient} (${d.copies} copies): ${d.cause}: ${d.because}`);
    console.log(
      `  ${ledger.unknownOutcomes} unknown outcomes; refusals: ${JSON.stringify(ledger.refusals.slice(0, 8))}`,
    );
    console.log(`  restarts ${JSON.stringify(restarts)}; cluster events ${JSON.stringify(events)}`);
    for (const p of problems) console.error(`FAIL ${p}`);
    console.log(`long-run: ${problems.length === 0 ? 'passed' : 'FAILED'}; results in ${args.out}`);
    code = problems.length === 0 ? 0 : 1;
  } finally {
    await cluster.stop();
    if (code !== 0 || args.keepLogs) {
      cpSync(join(cluster.dir, 'logs'), join(args.out, 'cluster-logs'), { recursive: true });
      console.error(`long-run: the cluster's logs copied to ${join(args.out, 'cluster-logs')}`);
    }
    rmSync(cluster.dir, { recursive: true, force: true });
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
