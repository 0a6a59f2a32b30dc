// @petrel/observability: what every Petrel service shares for being watched:
// JSON-lines logs (pino), Prometheus metrics (prom-client, names prefixed
// petrel_) and the HTTP port with /metrics, /healthz and /readyz.
export { createLogger, type CreateLoggerOptions, type Logger } from './logger.js';
export {
  PETREL_VERSION,
  createRegistry,
  processInstance,
  type Registry,
} from './metrics-registry.js';
export { startHealthServer, type HealthServer, type HealthServerOptions } from './health-server.js';
