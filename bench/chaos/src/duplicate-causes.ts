// Which fault of a chaos run could have made each duplicate delivery, so that
// the report says of every duplicate why it could happen (the design allows
// one kind: a delivery the next hop took that egress could not record).
//
// A copy delivered again after a fault is laid to the fault, among those that
// can stop egress from recording a delivery, that began closest to the first
// copy's arrival, from CAUSE_BEFORE_MS before it until the last copy:
//   - kill-egress: the process died between the next hop's 250 and its commit;
//   - restart-redis: the commit could not be written (or its reply was lost);
//   - cut-next-hop of the hop that got the copies: the 250 itself was lost.
// A duplicate the client made (it sent the message again) keeps the ledger's
// reason. One with no such fault in its window is "unexplained": a bug to
// look for.
//
// Does not: look at logs or Redis; it goes by the moments alone.

import type { AppliedFault } from './runner.js';
import type { Duplicate } from './ledger.js';

/** How long before a first copy a fault may have begun and still explain it (a slow attempt). */
export const CAUSE_BEFORE_MS = 10_000;

export type CauseKind = 'kill-egress' | 'restart-redis' | 'cut-next-hop' | 'client' | 'unexplained';

export interface Explained extends Duplicate {
  readonly cause: CauseKind;
  /** The fault and the moments, in seconds since the load started. */
  readonly because: string;
}

const RELAY = 'a delivery was repeated after a fault';

export function explainDuplicates(
  duplicates: readonly Duplicate[],
  faults: readonly AppliedFault[],
  loadStartedAt: number,
): Explained[] {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return duplicates.map((d) => {
    const at = d.at.map((t) => t - loadStartedAt);
    const copies = `copies at ${at.map(s).join(', ')}`;
    if (!d.reason.startsWith(RELAY)) return { ...d, cause: 'client', because: d.reason };
    const first = at[0]!;
    const last = at[at.length - 1]!;
    const candidates = faults.filter(
      (f) =>
        f.error === undefined &&
        f.startedAt >= first - CAUSE_BEFORE_MS &&
        f.startedAt <= last &&
        (f.kind === 'kill-egress' ||
          f.kind === 'restart-redis' ||
          (f.kind === 'cut-next-hop' && d.sinks.includes(f.target))),
    );
    if (candidates.length === 0)
      return { ...d, cause: 'unexplained', because: `no fault that explains it; ${copies}` };
    const nearest = candidates.reduce((a, b) =>
      Math.abs(b.startedAt - first) < Math.abs(a.startedAt - first) ? b : a,
    );
    return {
      ...d,
      cause: nearest.kind as CauseKind,
      because: `${nearest.kind} ${nearest.target} at ${s(nearest.startedAt)}; ${copies}`,
    };
  });
}

/** How many duplicates each cause explains. */
export function countCauses(explained: readonly Explained[]): Record<CauseKind, number> {
  const counts: Record<CauseKind, number> = {
    'kill-egress': 0,
    'restart-redis': 0,
    'cut-next-hop': 0,
    client: 0,
    unexplained: 0,
  };
  for (const e of explained) counts[e.cause]++;
  return counts;
}
