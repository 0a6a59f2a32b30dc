// bench/cluster's Cluster as the chaos runner's ChaosCluster: kills go to
// its supervisor (which restarts the process; a process is killed again only
// once it is back and ready), Redis restarts on its AOF,
// next-hop faults act on its sinks (next-hop-faults.ts), and deliveries are
// read from the sinks, matched by the X-Chaos-Seq header.
//
// Does not: start or stop the cluster.

import type { Cluster } from '@petrel/bench-cluster';
import type { Delivered } from './ledger.js';
import { cutOff, tempfail } from './next-hop-faults.js';
import type { ChaosCluster } from './runner.js';

const SEQ = /^X-Chaos-Seq: (\d+)\r?$/im;

/** The X-Chaos-Seq of a message as the sink received it, from its header section. */
function seqOf(body: Buffer): number | undefined {
  const head = body.subarray(0, Math.min(body.length, 4_096)).toString('latin1');
  const seq = SEQ.exec(head.split('\r\n\r\n')[0] ?? '')?.[1];
  return seq === undefined ? undefined : Number(seq);
}

export function chaosTarget(cluster: Cluster, prefix = '{petrel}'): ChaosCluster {
  const count = (kind: 'ingress' | 'routing' | 'egress') =>
    cluster.processes().filter((p) => p.kind === kind).length;
  // deliveredCount(): each sink's messages read once, their seqs kept.
  const seen = new Set<number>();
  const read = cluster.sinks.map(() => 0);
  return {
    smtp: cluster.smtp,
    domains: cluster.domains,
    redisUrl: cluster.redis.url,
    prefix,
    counts: {
      ingress: count('ingress'),
      routing: count('routing'),
      egress: count('egress'),
      nextHops: cluster.sinks.length,
    },
    async kill(kind, index) {
      // A process still coming back from the last kill is killed once it is back.
      await cluster.waitReady(kind, index, 60_000);
      await cluster.kill(kind, index, 'SIGKILL');
    },
    restartRedis: () => cluster.restartRedis(),
    cutNextHop: (index, ms) => cutOff(cluster.sinks[index]!, ms),
    tempfailNextHop: (index, ms) => tempfail(cluster.sinks[index]!, ms),
    deliveredCount() {
      cluster.sinks.forEach((sink, k) => {
        for (; read[k]! < sink.messages.length; read[k]!++) {
          const seq = seqOf(sink.messages[read[k]!]!.body);
          if (seq !== undefined) seen.add(seq);
        }
      });
      return seen.size;
    },
    delivered(): Delivered[] {
      return cluster.sinks.flatMap((sink, k) =>
        sink.messages.flatMap((m) => {
          const seq = seqOf(m.body);
          return seq === undefined
            ? []
            : [{ seq, recipients: m.rcptTo, sink: k, at: m.receivedAt }];
        }),
      );
    },
  };
}
