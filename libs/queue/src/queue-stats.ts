// Cluster-wide counters kept in Redis (<prefix>:stats, one hash), written in
// the same MULTI as the state they count, so that `relayctl status` and
// `relayctl top` see the whole cluster's rates without Prometheus:
//   accepted   messages ingress acknowledged with 250
//   delivered  recipients a next hop accepted
//   deferred   recipient attempts that ended in a 4yz
//   bounced    recipients that failed for good (egress, routing, operator)
//   dsn        DSNs made
//
// Does not: replace the Prometheus metrics (per process, with labels).

import type { ChainableCommander, Redis } from 'ioredis';

export const STAT_NAMES = ['accepted', 'delivered', 'deferred', 'bounced', 'dsn'] as const;
export type StatName = (typeof STAT_NAMES)[number];

export function statsKey(prefix: string): string {
  return `${prefix}:stats`;
}

/** Queues HINCRBYs in a pipeline or MULTI; zero counts are left out. */
export function queueStats(
  commands: ChainableCommander,
  prefix: string,
  counts: Partial<Record<StatName, number>>,
): void {
  for (const [name, n] of Object.entries(counts)) {
    if (n !== undefined && n !== 0) commands.hincrby(statsKey(prefix), name, n);
  }
}

export async function readStats(redis: Redis, prefix: string): Promise<Record<StatName, number>> {
  const values = await redis.hmget(statsKey(prefix), ...STAT_NAMES);
  return Object.fromEntries(STAT_NAMES.map((name, i) => [name, Number(values[i] ?? 0)])) as Record<
    StatName,
    number
  >;
}
