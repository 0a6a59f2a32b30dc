// A chaos run: the load (load.ts) through a cluster's SMTP entry while the
// planned faults (faults.ts) are applied at their moments, then a wait for
// the queues to drain, then the accounting: 250s given, delivered,
// duplicates with their reasons, lost (must be 0), never accepted, still
// queued, failed jobs (must be 0), and every fault with when it was applied;
// with a loss or a failed job, what Redis still knows of them (post-mortem.ts).
// The seed and the fault list are in the report, so a failing run can be
// replayed with the same faults at the same moments.
//
// Does not: start or stop the cluster (the caller owns it), or judge the
// report (the caller asserts on it).

import {
  countCauses,
  explainDuplicates,
  type CauseKind,
  type Explained,
} from './duplicate-causes.js';
import { FAULT_KINDS, planFaults, type Fault, type FaultKind } from './faults.js';
import { Ledger } from './ledger.js';
import { runLoad } from './load.js';
import { postMortem, type PostMortem } from './post-mortem.js';
import { waitForDrain, type QueueState } from './queue-state.js';
import type { Delivered, LedgerReport } from './ledger.js';
import { startTimeline, type Sample } from './timeline.js';

/** What a chaos run needs of a cluster (an adapter over bench/cluster's). */
export interface ChaosCluster {
  readonly smtp: { readonly host: string; readonly port: number };
  /** The recipient domain of each next hop. */
  readonly domains: readonly string[];
  readonly redisUrl: string;
  readonly prefix: string;
  readonly counts: Readonly<Record<'ingress' | 'routing' | 'egress' | 'nextHops', number>>;
  /** SIGKILL; the cluster's supervisor restarts the process. Resolves once killed. */
  kill(kind: 'ingress' | 'routing' | 'egress', index: number): Promise<void>;
  /** SIGKILL Redis, start it again on its AOF; resolves once it answers. */
  restartRedis(): Promise<void>;
  /** Next hop `index` unreachable (packets dropped) for `ms`; resolves once restored. */
  cutNextHop(index: number, ms: number): Promise<void>;
  /** Next hop `index` answers 4yz to every RCPT for `ms`; resolves once restored. */
  tempfailNextHop(index: number, ms: number): Promise<void>;
  /** Every message the next hops accepted so far. */
  delivered(): Delivered[];
  /** Distinct messages the next hops accepted so far (cheap: read each second by the timeline). */
  deliveredCount(): number;
}

export interface ChaosOptions {
  readonly messages: number;
  readonly ratePerSecond: number;
  readonly clients: number;
  readonly seed: number;
  readonly faultsPerKind: number;
  readonly drainTimeoutMs?: number;
  readonly bodyOctets?: number;
  /** Sample a timeline (timeline.ts) this often; none when absent. */
  readonly sampleEveryMs?: number;
}

export interface AppliedFault extends Fault {
  /** ms after the load started, when it was applied and when it was over. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly error?: string;
}

export interface ChaosReport {
  readonly seed: number;
  readonly options: ChaosOptions;
  readonly loadMs: number;
  readonly drainMs: number;
  readonly attempts: number;
  /** The ledger, each duplicate with the fault that could have made it (duplicate-causes.ts). */
  readonly ledger: Omit<LedgerReport, 'duplicates'> & { readonly duplicates: readonly Explained[] };
  readonly duplicatesByCause: Readonly<Record<CauseKind, number>>;
  readonly queue: QueueState;
  readonly faults: readonly AppliedFault[];
  readonly faultsByKind: Readonly<Record<FaultKind, number>>;
  /** With options.sampleEveryMs: the run over time. */
  readonly timeline?: readonly Sample[];
  /** When something was lost or failed: what Redis still knows about it (post-mortem.ts). */
  readonly postMortem?: PostMortem;
}

async function apply(cluster: ChaosCluster, fault: Fault): Promise<void> {
  switch (fault.kind) {
    case 'kill-ingress':
      return cluster.kill('ingress', fault.target);
    case 'kill-routing':
      return cluster.kill('routing', fault.target);
    case 'kill-egress':
      return cluster.kill('egress', fault.target);
    case 'restart-redis':
      return cluster.restartRedis();
    case 'cut-next-hop':
      return cluster.cutNextHop(fault.target, fault.durationMs);
    case 'next-hop-4yz':
      return cluster.tempfailNextHop(fault.target, fault.durationMs);
  }
}

export async function runChaos(cluster: ChaosCluster, options: ChaosOptions): Promise<ChaosReport> {
  const lengthMs = (options.messages / options.ratePerSecond) * 1_000;
  const planned = planFaults({
    seed: options.seed,
    lengthMs,
    perKind: options.faultsPerKind,
    counts: cluster.counts,
  });
  const ledger = new Ledger();
  const applied: AppliedFault[] = [];
  let started = 0;
  // One Redis restart at a time, and one fault per process at a time: a second
  // SIGKILL of a process being restarted would test the supervisor, not Petrel.
  const busy = new Map<string, Promise<void>>();
  const faultRuns: Promise<void>[] = [];

  const load = runLoad(
    {
      host: cluster.smtp.host,
      port: cluster.smtp.port,
      messages: options.messages,
      ratePerSecond: options.ratePerSecond,
      clients: options.clients,
      domains: cluster.domains,
      bodyOctets: options.bodyOctets,
    },
    ledger,
  );
  started = Date.now();
  const timeline =
    options.sampleEveryMs === undefined
      ? null
      : startTimeline(
          {
            ledger,
            deliveredCount: () => cluster.deliveredCount(),
            redisUrl: cluster.redisUrl,
            prefix: cluster.prefix,
          },
          started,
          options.sampleEveryMs,
        );
  for (const fault of planned) {
    faultRuns.push(
      new Promise<void>((resolve) => {
        setTimeout(() => {
          const key = fault.kind === 'restart-redis' ? 'redis' : `${fault.kind}:${fault.target}`;
          const previous = busy.get(key) ?? Promise.resolve();
          const run = previous.then(async () => {
            const startedAt = Date.now() - started;
            let error: string | undefined;
            await apply(cluster, fault).catch((e: unknown) => (error = String(e)));
            applied.push({
              ...fault,
              startedAt,
              endedAt: Date.now() - started,
              ...(error ? { error } : {}),
            });
          });
          busy.set(key, run);
          void run.then(resolve);
        }, fault.at);
      }),
    );
  }
  const result = await load;
  // Every planned fault happens, also one planned in the last moments of a
  // load that ended a little early (the plan spans the load's nominal length).
  await Promise.all(faultRuns);
  const drainStarted = Date.now();
  const queue = await waitForDrain(
    cluster.redisUrl,
    cluster.prefix,
    options.drainTimeoutMs ?? 120_000,
  );
  // A delivery the next hop took just before the drain was seen may still be on its way in.
  await new Promise((r) => setTimeout(r, 1_000));
  const samples = await timeline?.stop();
  for (const d of cluster.delivered()) ledger.delivered(d);
  const faultsByKind = Object.fromEntries(
    FAULT_KINDS.map((k) => [
      k,
      applied.filter((f) => f.kind === k && f.error === undefined).length,
    ]),
  ) as Record<FaultKind, number>;
  const report = ledger.report();
  const duplicates = explainDuplicates(report.duplicates, applied, started);
  const lost = ledger.messages.filter((m) => report.lost.includes(m.seq));
  const autopsy =
    lost.length > 0 || queue.failed !== 0
      ? await postMortem(cluster.redisUrl, cluster.prefix, lost).catch(() => undefined)
      : undefined;
  return {
    seed: options.seed,
    options,
    loadMs: result.endedAt - result.startedAt,
    drainMs: Date.now() - drainStarted,
    attempts: result.attempts,
    ledger: { ...report, duplicates },
    duplicatesByCause: countCauses(duplicates),
    queue,
    faults: applied.sort((a, b) => a.startedAt - b.startedAt),
    faultsByKind,
    ...(samples === undefined ? {} : { timeline: samples }),
    ...(autopsy === undefined ? {} : { postMortem: autopsy }),
  };
}
