// The short chaos run of CI (issue 9): 2,000 messages at a steady rate from
// several clients through HAProxy into 2 ingress, 2 routing and 2 egress
// processes, one Redis (AOF, appendfsync always) and two next hops, while
// at least 10 faults of every kind happen: SIGKILL of ingress, routing and
// egress processes (each restarted, as a Deployment would), Redis restarted
// on its AOF, a next hop cut off (packets dropped), a next hop answering 451
// to every RCPT. Then the queues drain, and: nothing given a 250 is lost,
// no job is left failed or pending, and every duplicate delivery has a fault
// that explains it (an egress kill, a Redis restart, a next hop cut off). The seed and the faults are printed so a
// failure can be replayed (CHAOS_SEED).
//
// The long run (docs/benchmarks.md) is this test with more: CHAOS_MESSAGES,
// CHAOS_FAULTS (per kind), CHAOS_RATE, CHAOS_CLIENTS, and CHAOS_OUT, a
// directory that gets the report (report.json), the faults (faults.tsv) and
// the run sampled every second (timeline.tsv), for plot_timeline.py; or, the
// same run from the command line with the same cluster (chaos-cluster.ts),
// src/long-run.ts (node bench/chaos/dist/long-run.js --help).
//
// Root only (iptables, HAProxy from Debian); skipped with the reason otherwise.
import { startCluster, type Cluster } from '@petrel/bench-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chaosClusterSpec } from '../src/chaos-cluster.js';
import { chaosTarget } from '../src/cluster-target.js';
import { canCutOff } from '../src/next-hop-faults.js';
import { runChaos, type ChaosReport } from '../src/runner.js';
import { saveReport } from '../src/report-files.js';

const skip = canCutOff()
  ? undefined
  : 'needs root and iptables (next hops are cut off by dropping packets)';
if (skip !== undefined) console.warn(`chaos.spec: skipped: ${skip}`);

const SEED = Number(process.env['CHAOS_SEED'] ?? Date.now() % 1_000_000);
// Smaller runs while working on it: CHAOS_MESSAGES, CHAOS_FAULTS (CI takes the defaults).
const MESSAGES = Number(process.env['CHAOS_MESSAGES'] ?? 2_000);
const FAULTS = Number(process.env['CHAOS_FAULTS'] ?? 10);
const RATE = Number(process.env['CHAOS_RATE'] ?? 40);
const CLIENTS = Number(process.env['CHAOS_CLIENTS'] ?? 16);
const OUT = process.env['CHAOS_OUT'];
const TIMEOUT_MS = (MESSAGES / RATE) * 1_000 + 600_000;

describe.skipIf(skip !== undefined)('chaos', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster(chaosClusterSpec());
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it(
    `loses nothing given a 250 through ${FAULTS * 6} faults`,
    async () => {
      const report: ChaosReport = await runChaos(chaosTarget(cluster), {
        messages: MESSAGES,
        ratePerSecond: RATE,
        clients: CLIENTS,
        seed: SEED,
        faultsPerKind: FAULTS,
        drainTimeoutMs: 180_000,
        ...(OUT === undefined ? {} : { sampleEveryMs: 1_000 }),
      });
      if (OUT !== undefined) saveReport(OUT, report);
      const { ledger, queue } = report;
      console.log(
        `chaos (seed ${report.seed}): ${ledger.sent} sent, ${ledger.accepted} given a 250, ` +
          `${ledger.delivered} delivered, ${ledger.lost.length} lost, ${ledger.duplicates.length} duplicates, ` +
          `${ledger.neverAccepted.length} never accepted, ${queue.pending} still queued, ${queue.failed} failed; ` +
          `load ${report.loadMs} ms, drain ${report.drainMs} ms, ${report.attempts} attempts; ` +
          `faults ${JSON.stringify(report.faultsByKind)}; duplicates by cause ${JSON.stringify(report.duplicatesByCause)}`,
      );
      for (const d of ledger.duplicates.slice(0, 10))
        console.log(`  duplicate ${d.recipient} (${d.copies} copies): ${d.cause}: ${d.because}`);
      console.log(
        `  ${ledger.unknownOutcomes} unknown outcomes; refusals: ${JSON.stringify(ledger.refusals.slice(0, 8))}`,
      );
      // A loss or a failed job, explained by what Redis kept of it (post-mortem.ts).
      if (report.postMortem !== undefined)
        console.log(`  post-mortem ${JSON.stringify(report.postMortem, null, 1)}`);
      const failedFaults = report.faults.filter((f) => f.error !== undefined);
      expect(failedFaults, JSON.stringify(failedFaults)).toEqual([]);
      for (const count of Object.values(report.faultsByKind))
        expect(count).toBeGreaterThanOrEqual(FAULTS);
      expect(ledger.lost, `seed ${report.seed}: lost ${ledger.lost.join(' ')}`).toEqual([]);
      expect(queue.failed).toBe(0);
      expect(queue.pending).toBe(0);
      expect(ledger.accepted).toBe(ledger.sent);
      // Every duplicate has a fault that allows it (duplicate-causes.ts).
      const unexplained = ledger.duplicates.filter((d) => d.cause === 'unexplained');
      expect(unexplained, `seed ${report.seed}: ${JSON.stringify(unexplained)}`).toEqual([]);
    },
    TIMEOUT_MS,
  );
});
