// Routing's Prometheus metrics (prefix petrel_). Labels stay low-cardinality:
// source, decision, outcome, record type. Never domains, addresses or ids.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { DnsQueryEvent } from '@petrel/dns';
import type { Resolution } from './resolution.js';

export interface RoutingMetrics {
  readonly resolutions: Counter<'source' | 'decision' | 'cached'>;
  readonly dnsSeconds: Histogram<'type' | 'outcome'>;
  readonly transactions: Counter<'outcome'>;
  readonly recipients: Counter<'outcome'>;
  readonly groupRecipients: Histogram;
  readonly routeSeconds: Histogram;
  /** DSNs routing made: failed (unroutable), expired (still unroutable at the end of the lifetime), operator (relayctl bounce). */
  readonly dsns: Counter<'reason'>;
  /** Counts a resolution. */
  resolved(resolution: Resolution): void;
  /** Counts a DNS query that went to the network. */
  queried(event: DnsQueryEvent): void;
}

export function createRoutingMetrics(registry: Registry): RoutingMetrics {
  const registers = [registry];
  const resolutions = new Counter({
    name: 'petrel_routing_resolutions_total',
    help: 'Domains resolved (per transaction, and per Resolve call), by where the answer came from, the decision, and whether DNS answered from the cache.',
    labelNames: ['source', 'decision', 'cached'],
    registers,
  });
  const dnsSeconds = new Histogram({
    name: 'petrel_routing_dns_seconds',
    help: 'DNS queries sent to the resolvers (cache hits excluded), by record type and outcome.',
    labelNames: ['type', 'outcome'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  return {
    resolutions,
    dnsSeconds,
    transactions: new Counter({
      name: 'petrel_routing_transactions_total',
      help: 'Transactions jobs routed: routed, already-routed (a re-run after a crash committed nothing), error (retried).',
      labelNames: ['outcome'],
      registers,
    }),
    recipients: new Counter({
      name: 'petrel_routing_recipients_total',
      help: 'Recipients routed, by outcome: delivery, held, bounced, deferred (routed again later).',
      labelNames: ['outcome'],
      registers,
    }),
    groupRecipients: new Histogram({
      name: 'petrel_routing_delivery_recipients',
      help: 'Recipients per delivery job (one copy of the data per destination host).',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
    dsns: new Counter({
      name: 'petrel_dsns_total',
      help: 'Delivery status notifications (bounces) made, by reason: failed (a 5yz or an unroutable domain), expired (the queue lifetime ended), operator (relayctl bounce).',
      labelNames: ['reason'],
      registers,
    }),
    routeSeconds: new Histogram({
      name: 'petrel_routing_transaction_seconds',
      help: 'Time to route and commit one transactions job.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 10],
      registers,
    }),
    resolved(resolution) {
      resolutions.inc({
        source: resolution.source,
        decision: resolution.decision,
        cached: String(resolution.cached),
      });
    },
    queried(event) {
      dnsSeconds.observe({ type: event.type, outcome: event.outcome }, event.seconds);
    },
  };
}
