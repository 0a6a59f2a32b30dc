// The Prometheus registry of a service (prom-client). One registry per
// service instance, never prom-client's global one, so that tests and
// several services in one process (npm start) do not share counters.
// With collectDefaults, Node's process metrics (CPU, memory, event loop lag,
// GC, handles) are in it, named petrel_process_* and petrel_nodejs_*.
//
// Does not: define the services' own metrics (each service names its own,
// all prefixed petrel_, with low-cardinality labels only), or serve them
// (health-server.ts does).

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export type { Registry } from 'prom-client';

/** Petrel's version: this package's, which every workspace shares. */
export const PETREL_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/**
 * This process's name in logs, events, presence and leases: the machine's host
 * name (in Kubernetes, the pod's name) and the pid. Not ingress.hostname, which
 * every replica shares (and every container's pid is 1).
 */
export function processInstance(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * A fresh registry; default metrics unless `collectDefaults` is false; with
 * `service`, petrel_build_info{service, version} = 1.
 */
export function createRegistry(
  options: { collectDefaults?: boolean; service?: string } = {},
): Registry {
  const registry = new Registry();
  if (options.collectDefaults ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'petrel_' });
  }
  if (options.service !== undefined) {
    new Gauge({
      name: 'petrel_build_info',
      help: 'Always 1: the service and the Petrel version it runs.',
      labelNames: ['service', 'version'],
      registers: [registry],
    }).set({ service: options.service, version: PETREL_VERSION }, 1);
  }
  return registry;
}
