// Egress's Prometheus metrics (prefix petrel_), counted as attempts end.
// Labels stay bounded: outcome, reply class, deferral reason (five classes),
// and destination = one of metrics.destinations or "other". Never hosts,
// addresses or ids. The queue's own gauges are routing's (petrel_queue_*).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface EgressMetrics {
  readonly attempts: Counter<'outcome' | 'class' | 'destination'>;
  readonly deferrals: Counter<'reason' | 'destination'>;
  readonly latency: Histogram<'outcome'>;
  readonly connections: Counter<'outcome'>;
  readonly active: Gauge<'destination'>;
  readonly dsns: Counter<'reason'>;
}

export function createEgressMetrics(registry: Registry): EgressMetrics {
  const registers = [registry];
  return {
    attempts: new Counter({
      name: 'petrel_egress_attempts_total',
      help: 'Recipient delivery attempts, by outcome (delivered, deferred, bounced), reply class (2, 4, 5) and destination (one of metrics.destinations, or other).',
      labelNames: ['outcome', 'class', 'destination'],
      registers,
    }),
    deferrals: new Counter({
      name: 'petrel_egress_deferrals_total',
      help: 'Recipient attempts that ended deferred (retried later), by reason class of the reply (dns, connect, tls, throttle, 4yz) and destination.',
      labelNames: ['reason', 'destination'],
      registers,
    }),
    latency: new Histogram({
      name: 'petrel_egress_delivery_seconds',
      help: 'From the message received by ingress to a recipient final: delivered or bounced.',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400],
      registers,
    }),
    connections: new Counter({
      name: 'petrel_egress_connections_total',
      help: 'Connections to next hops asked for, by outcome: opened (a new session reached ready), reused (a kept one), failed, busy (the destination was at egress.connectionsPerDestination).',
      labelNames: ['outcome'],
      registers,
    }),
    active: new Gauge({
      name: 'petrel_egress_deliveries_active',
      help: 'Deliveries this process is attempting now, by destination: the per-destination concurrency.',
      labelNames: ['destination'],
      registers,
    }),
    dsns: new Counter({
      name: 'petrel_dsns_total',
      help: 'Delivery status notifications (bounces) made, by reason: failed (a 5yz or an unroutable domain), expired (the queue lifetime ended), operator (relayctl bounce).',
      labelNames: ['reason'],
      registers,
    }),
  };
}
