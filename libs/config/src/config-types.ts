// The configuration as the services read it: every duration in milliseconds
// (the keys end in Ms), every default filled in, every value validated.
// The YAML file and the environment use the operator's names instead, where
// durations are written with units and without the Ms suffix (file-schema.ts
// maps one onto the other; docs/configuration.md lists every key).

import type { TlsPolicy, Transport } from './transport.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface PetrelConfig {
  redis: RedisConfig;
  ingress: IngressConfig;
  routing: RoutingConfig;
  egress: EgressConfig;
  metrics: MetricsConfig;
  admin: AdminConfig;
  log: { level: LogLevel };
}

export interface RedisConfig {
  /** null: `npm start` runs its own Redis. */
  url: string | null;
  /** What "stored" means before ingress answers 250 (docs/configuration.md). */
  durability: 'none' | 'fsync' | 'replicas';
  /** Replicas that must acknowledge, for durability `replicas`. */
  replicas: number;
  /** How long to wait for fsync or replicas before answering 451. */
  durabilityTimeoutMs: number;
  /** A Redis slower than this is unavailable: 4yz, never 250. */
  commandTimeoutMs: number;
  /** BullMQ key prefix, hash-tagged ("{petrel}") so that Redis Cluster keeps a queue on one slot. */
  prefix: string;
  /**
   * How many copies of the queues (each under its own prefix, libs/queue
   * shards.ts) the messages are spread over: on Redis Cluster, each shard's
   * slot, and so its work, can be on another master.
   */
  shards: number;
}

export interface ListenerConfig {
  host: string;
  port: number;
  /** Expect a PROXY v1/v2 header, accepted only from ingress.loadBalancers. */
  proxyProtocol: boolean;
  /** Offer AUTH before STARTTLS on this listener. */
  allowPlaintextAuth: boolean;
}

export interface IngressConfig {
  hostname: string;
  listeners: ListenerConfig[];
  /** CIDRs whose clients may relay anywhere, normalised ("192.0.2.7" → "192.0.2.7/32"). */
  trustedNetworks: string[];
  /** Lower case; "example.com" exactly, ".example.com" its subdomains. */
  relayDomains: string[];
  /** CIDRs allowed to send PROXY headers. */
  loadBalancers: string[];
  maxMessageSize: number;
  /** At least 100 (RFC 5321 §4.5.3.1.8). */
  maxRecipients: number;
  maxErrors: number;
  maxReceivedHeaders: number;
  /** RFC 5321 §4.5.3.2 server timeouts. */
  timeouts: { commandMs: number; dataMs: number };
  /** Certificate and key file paths. */
  tls: { cert: string; key: string } | null;
  /** A file of "user:scrypt-hash" lines. */
  auth: { usersFile: string } | null;
  /** Answer EXPN from routing.lists. */
  expn: { enabled: boolean };
  limits: {
    connectionsPerClient: number;
    messagesPerClientPerMinute: number;
    authFailuresPerClientPerHour: number;
  };
  queue: { highWatermark: number };
  /**
   * routing's Resolve API, asked at RCPT time (address null: never asked).
   * A permanent refusal is the recipient's reply; no answer in time accepts.
   */
  resolve: { address: string | null; timeoutMs: number };
  /** SIGTERM grace for sessions to finish. */
  drainTimeoutMs: number;
}

export interface RoutingConfig {
  /** Lower-case keys: exact domain, ".subdomain", or "*" for the default route. */
  transports: Record<string, Transport>;
  /** Lower-case address → its members (lower-case addresses); EXPN reads it too. */
  lists: Record<string, string[]>;
  dns: { servers: string[]; timeoutMs: number };
  sourceRoutes: 'strip' | 'honour';
  maxRecipientsPerDelivery: number;
  /** Transactions routed at once by one process. */
  concurrency: number;
  /** BullMQ lock of a job being routed; a dead worker's job is taken again after about twice this. */
  lockDurationMs: number;
  /** SIGTERM: the longest wait for the jobs in hand before exiting anyway. */
  drainTimeoutMs: number;
  /** The Resolve gRPC API. */
  grpc: { host: string; port: number };
}

/** Read by egress (and routing: retry, for its own retries). */
export interface EgressConfig {
  retry: { scheduleMs: number[]; maxLifetimeMs: number };
  tls: TlsPolicy;
  /** AUTH credentials for next hops, by the name routing.transports entries give. */
  credentials: Record<string, { username: string; passwordFile: string }>;
  /** Deliveries one egress process works on at once. */
  concurrency: number;
  /** Connections at once to one destination (address:port), across egress processes; 0: no limit. */
  connectionsPerDestination: number;
  /** Connections kept open between deliveries. */
  connectionCache: { idleMs: number; maxMessages: number };
  /** BullMQ lock of a delivery in progress; a dead worker's delivery is taken again after about twice this. */
  lockDurationMs: number;
  /** SIGTERM: the longest wait for the jobs in hand before exiting anyway. */
  drainTimeoutMs: number;
  /** RFC 5321 §4.5.3.2 sender timeouts. */
  timeouts: {
    connectMs: number;
    greetingMs: number;
    commandMs: number;
    dataStartMs: number;
    dataBlockMs: number;
    dataEndMs: number;
  };
}

export interface MetricsConfig {
  host: string;
  /** 0: any free port (tests). */
  port: number;
  /**
   * The destination domains that get their own `destination` label value;
   * every other domain is counted as `other` (labels stay bounded).
   */
  destinations: string[];
}

/** The admin gRPC API (petrel.admin.v1.Admin), served by routing; relayctl's peer. */
export interface AdminConfig {
  host: string;
  /** 0: any free port (tests). */
  port: number;
  /** Off loopback the API needs TLS; with clientCa, clients must show a certificate it signed. */
  tls: { cert: string; key: string; clientCa: string | null } | null;
  /** Bearer tokens, one "name token" per line; null: none (mutual TLS or loopback only). */
  tokensFile: string | null;
}
