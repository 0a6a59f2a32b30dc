// @petrel/bench-cluster: a local Petrel cluster (HAProxy with the PROXY
// protocol, N ingress, routing and egress processes, Redis, DNS and sinks) for
// benchmarks and fault tests; the CLI is cli.ts.
export {
  startCluster,
  type Cluster,
  type ClusterSpec,
  type IngressAddress,
  type ProcessInfo,
} from './cluster.js';
export {
  ingressHostname,
  mergeConfig,
  sinkAddress,
  testDomain,
  type ConfigObject,
  type Durability,
} from './config.js';
export type { ClusterEvent, ClusterEventKind } from './events.js';
export { HAPROXY_INSTALL_HINT, haproxyConfig } from './haproxy.js';
export type { DrainResult, ExitInfo, MemberState, ServiceKind } from './service-member.js';
