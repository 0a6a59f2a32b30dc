// @petrel/config: the configuration every Petrel service starts from. One YAML
// file (PETREL_CONFIG) for every service, each key overridable from the
// environment, validated at start with errors that name the key.
// docs/configuration.md lists every key.
export type {
  EgressConfig,
  IngressConfig,
  ListenerConfig,
  LogLevel,
  MetricsConfig,
  AdminConfig,
  PetrelConfig,
  RedisConfig,
  RoutingConfig,
} from './config-types.js';
export { ConfigError } from './config-error.js';
export { loadConfig, defaultConfig, type LoadConfigOptions } from './load-config.js';
export { parseDuration, formatDuration } from './duration.js';
export { parseCidr, formatCidr, type Cidr, type CidrResult } from './cidr.js';
export { RESERVED_VARIABLES } from './env-overrides.js';
export {
  parseTransport,
  type ParsedTransport,
  type TlsPolicy,
  type Transport,
  type TransportAction,
} from './transport.js';
export { isLoopbackHost } from './cross-checks.js';
export {
  ConfigWatcher,
  problemKey,
  type ConfigReload,
  type ConfigReloadOptions,
  type ConfigWatcherOptions,
  type ReloadLogger,
  type ReloadOutcome,
  type ReloadTrigger,
} from './config-watcher.js';
export { configChanges, withChanges, keyWithin, type ConfigChange } from './config-changes.js';
export {
  CLUSTER_URL_FORM,
  isClusterUrl,
  isSentinelUrl,
  parseClusterUrl,
  parseSentinelUrl,
  redisTarget,
  SENTINEL_URL_FORM,
  type ClusterTarget,
  type RedisTarget,
  type SentinelTarget,
} from './redis-url.js';
