// The cluster of the chaos runs, the CI test's (test/chaos.spec.ts) and the
// long run's (long-run.ts) alike, so that the long run measures what CI
// tests: 2 ingress, 2 routing and 2 egress processes behind HAProxy, two
// next hops, one Redis with appendfsync always, and an operator's short
// settings.
//
// Does not: start anything (bench/cluster's startCluster does).

import type { ClusterSpec } from '@petrel/bench-cluster';

export function chaosClusterSpec(extra: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    ingress: 2,
    routing: 2,
    egress: 2,
    sinks: 2,
    durability: 'fsync',
    // An operator's short settings, so that a run takes a minute, not hours:
    // retries within seconds, next-hop timeouts of seconds (a cut-off hop
    // stalls a connection until one fires), and locks of a SIGKILLed
    // process's jobs that expire within seconds.
    // All the clients are 127.0.0.1: no per-client limits.
    config: {
      ingress: { limits: { connectionsPerClient: 0, messagesPerClientPerMinute: 0 } },
      routing: { lockDuration: '5s' },
      egress: {
        lockDuration: '5s',
        retry: { schedule: ['1s', '2s', '4s'] },
        timeouts: {
          connect: '2s',
          greeting: '5s',
          command: '5s',
          dataStart: '5s',
          dataBlock: '5s',
          dataEnd: '10s',
        },
      },
    },
    ...extra,
  };
}
