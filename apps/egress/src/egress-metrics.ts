// Egress's Prometheus metrics (prefix petrel_). Labels stay low-cardinality:
// outcome and reply class. Never domains, addresses or ids.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface EgressMetrics {
  readonly attempts: Counter<'outcome' | 'class'>;
  readonly latency: Histogram;
  readonly connections: Counter<'outcome'>;
}

/** What the queue gauges read, once per scrape (at most every 5 s). */
export interface DeliveriesView {
  counts(): Promise<Record<'waiting' | 'active' | 'delayed' | 'failed', number>>;
  /** ISO 8601 receipt times of up to `limit` deliveries not yet done. */
  receivedTimes(limit: number): Promise<string[]>;
}

const SAMPLE = 1000;
const CACHE_MS = 5000;

export function createEgressMetrics(
  registry: Registry,
  view?: () => DeliveriesView | null,
): EgressMetrics {
  const registers = [registry];
  let cached: { at: number; counts: Record<string, number>; oldest: number } | null = null;
  const read = async () => {
    const source = view?.() ?? null;
    if (source === null) return null;
    if (cached !== null && Date.now() - cached.at < CACHE_MS) return cached;
    const [counts, times] = await Promise.all([source.counts(), source.receivedTimes(SAMPLE)]);
    const oldest = times.reduce((min, t) => Math.min(min, Date.parse(t)), Date.now());
    cached = { at: Date.now(), counts, oldest: (Date.now() - oldest) / 1000 };
    return cached;
  };
  new Gauge({
    name: 'petrel_egress_deliveries',
    help: 'Deliveries on the queue by state: waiting, active, delayed (deferred recipients waiting for their next attempt), failed. Read from Redis at most every 5 s.',
    labelNames: ['state'],
    registers,
    async collect() {
      const now = await read().catch(() => null);
      if (now === null) return;
      for (const [state, n] of Object.entries(now.counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'petrel_egress_oldest_delivery_seconds',
    help: 'Age (since ingress received it) of the oldest message among up to 1,000 deliveries not yet done.',
    registers,
    async collect() {
      const now = await read().catch(() => null);
      if (now !== null) this.set(now.oldest);
    },
  });
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
