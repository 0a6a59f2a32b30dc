// The faults of a chaos run, drawn from a seed so that a run can be replayed:
// a list of { at, kind, target, durationMs } spread over the run's length,
// each kind `perKind` times at random moments (not before `warmupMs`, not
// after the load ends), targets drawn among the processes of that kind.
//
// Kinds: SIGKILL of an ingress, routing or egress process (its supervisor
// restarts it, as a Deployment would); a Redis restart (SIGKILL, then the AOF
// replayed); a next hop cut off (its packets dropped) for a while; a next hop
// answering 4yz to every RCPT for a while.
//
// Does not: apply the faults (runner.ts does), or avoid overlaps (faults of
// different kinds may coincide; so they do in production).

export type FaultKind =
  | 'kill-ingress'
  | 'kill-routing'
  | 'kill-egress'
  | 'restart-redis'
  | 'cut-next-hop'
  | 'next-hop-4yz';

export const FAULT_KINDS: readonly FaultKind[] = [
  'kill-ingress',
  'kill-routing',
  'kill-egress',
  'restart-redis',
  'cut-next-hop',
  'next-hop-4yz',
];

export interface Fault {
  /** ms after the load started. */
  readonly at: number;
  readonly kind: FaultKind;
  /** Which process or next hop of its kind (0-based). */
  readonly target: number;
  /** How long a next-hop fault lasts; 0 for the others. */
  readonly durationMs: number;
}

export interface FaultPlan {
  readonly seed: number;
  /** How long the load lasts, ms. */
  readonly lengthMs: number;
  readonly perKind: number;
  /** Processes or next hops of each kind, to draw targets from. */
  readonly counts: Readonly<Record<'ingress' | 'routing' | 'egress' | 'nextHops', number>>;
  readonly warmupMs?: number;
  /** Longest next-hop fault; default 3 s. */
  readonly maxOutageMs?: number;
}

/** mulberry32: a small, good-enough PRNG with a 32-bit state. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function countFor(kind: FaultKind, counts: FaultPlan['counts']): number {
  if (kind === 'kill-ingress') return counts.ingress;
  if (kind === 'kill-routing') return counts.routing;
  if (kind === 'kill-egress') return counts.egress;
  if (kind === 'restart-redis') return 1;
  return counts.nextHops;
}

export function planFaults(plan: FaultPlan): Fault[] {
  const next = random(plan.seed);
  const warmup = plan.warmupMs ?? Math.min(2_000, plan.lengthMs / 10);
  const span = Math.max(1, plan.lengthMs - warmup);
  const maxOutage = plan.maxOutageMs ?? 3_000;
  const faults: Fault[] = [];
  for (const kind of FAULT_KINDS) {
    for (let i = 0; i < plan.perKind; i++) {
      const outage = kind === 'cut-next-hop' || kind === 'next-hop-4yz';
      faults.push({
        at: Math.round(warmup + next() * span),
        kind,
        target: Math.floor(next() * countFor(kind, plan.counts)),
        durationMs: outage ? Math.round(500 + next() * (maxOutage - 500)) : 0,
      });
    }
  }
  return faults.sort((a, b) => a.at - b.at);
}
