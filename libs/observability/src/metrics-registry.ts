// The Prometheus registry of a service (prom-client). One registry per
// service instance, never prom-client's global one, so that tests and
// several services in one process (npm start) do not share counters.
// With collectDefaults, Node's process metrics (CPU, memory, event loop lag,
// GC, handles) are in it, named petrel_process_* and petrel_nodejs_*.
//
// Does not: define the services' own metrics (each service names its own,
// all prefixed petrel_, with low-cardinality labels only), or serve them
// (health-server.ts does).

import { collectDefaultMetrics, Registry } from 'prom-client';

export type { Registry } from 'prom-client';

/** A fresh registry; default metrics unless `collectDefaults` is false. */
export function createRegistry(options: { collectDefaults?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.collectDefaults ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'petrel_' });
  }
  return registry;
}
