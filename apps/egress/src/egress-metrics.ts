// Egress's Prometheus metrics (prefix petrel_). Labels stay low-cardinality:
// outcome and reply class. Never domains, addresses or ids.
import { Counter, Histogram, type Registry } from 'prom-client';

export interface EgressMetrics {
  readonly attempts: Counter<'outcome' | 'class'>;
  readonly latency: Histogram;
  readonly connections: Counter<'outcome'>;
}

export function createEgressMetrics(registry: Registry): EgressMetrics {
  const registers = [registry];
  return {
    attempts: new Counter({
      name: 'petrel_egress_attempts_total',
      help: 'Recipient delivery attempts, by outcome (delivered, deferred, bounced) and reply class (2, 4, 5).',
      labelNames: ['outcome', 'class'],
      registers,
    }),
    latency: new Histogram({
      name: 'petrel_egress_delivery_seconds',
      help: 'From the message received by ingress to a recipient delivered.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400],
      registers,
    }),
    connections: new Counter({
      name: 'petrel_egress_connections_total',
      help: 'Connections to next hops asked for, by outcome: opened (a new session reached ready), reused (a kept one), failed, busy (the destination was at egress.connectionsPerDestination).',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
