// The messages of petrel.admin.v1 as TypeScript sees them on the wire, written
// by hand to match what @grpc/proto-loader produces with LOADER_OPTIONS (see
// routing-messages.ts for the rules: camelCase, every field present with its
// default, uint64 as number, an unset message field null). admin-messages.spec.ts
// checks them against admin.proto.

/** The states an entry can be in, as selectors and listings name them. */
export const ENTRY_STATES = ['queued', 'routing', 'deferred', 'active', 'held', 'failed'] as const;
export type EntryState = (typeof ENTRY_STATES)[number];

export interface Selector {
  readonly ids: readonly string[];
  readonly sender: string;
  readonly recipient: string;
  readonly domain: string;
  readonly nextHop: string;
  readonly states: readonly string[];
  readonly olderThanSeconds: number;
  readonly youngerThanSeconds: number;
  readonly lastReply: string;
  readonly all: boolean;
}

export interface ListRequest {
  readonly selector: Selector | null;
  readonly limit: number;
}

export interface AdminReply {
  readonly code: number;
  readonly enhanced: string;
  readonly text: string;
  readonly synthetic: boolean;
  readonly host: string;
  readonly at: string;
}

export interface AdminRecipient {
  readonly address: string;
  readonly state: string;
  readonly lastReply: AdminReply | null;
  readonly original: string;
  readonly expandedFrom: string;
}

export interface Entry {
  readonly id: string;
  readonly messageId: string;
  readonly state: string;
  readonly queue: string;
  readonly receivedAt: string;
  readonly sender: string;
  readonly recipients: readonly AdminRecipient[];
  readonly domain: string;
  readonly nextHops: readonly string[];
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly size: number;
  readonly failedReason: string;
  readonly origin: string;
  readonly parameters: readonly string[];
  readonly transport: string;
}

export interface MessageRequest {
  readonly id: string;
}

export interface ShowResponse {
  readonly messageId: string;
  readonly entries: readonly Entry[];
  readonly receivedFrom: string;
  readonly helo: string;
  readonly tls: string;
  readonly auth: string;
  readonly ingress: string;
  readonly bodyStored: boolean;
  readonly bodyRefs: number;
}

export interface AdminEvent {
  readonly event: string;
  readonly service: string;
  readonly instance: string;
  readonly at: string;
  readonly json: string;
}

export interface TraceResponse {
  readonly messageId: string;
  readonly events: readonly AdminEvent[];
}

export interface MutateRequest {
  readonly selector: Selector | null;
  readonly dryRun: boolean;
  readonly actor: string;
  readonly reason: string;
}

export interface Progress {
  readonly matched: number;
  readonly done: number;
  readonly changed: number;
  readonly unchanged: number;
  readonly skipped: number;
  readonly id: string;
  readonly outcome: string;
  readonly detail: string;
  readonly final: boolean;
}

export type SummaryRequest = Record<string, never>;

export interface StateCount {
  readonly state: string;
  readonly entries: number;
  readonly recipients: number;
}

export interface DomainRow {
  readonly domain: string;
  readonly total: number;
  readonly buckets: readonly number[];
  readonly deferred: number;
}

export interface SummaryResponse {
  readonly states: readonly StateCount[];
  readonly bucketMinutes: readonly number[];
  readonly domains: readonly DomainRow[];
  readonly oldestReceivedAt: string;
}

export type StatusRequest = Record<string, never>;

export interface ServiceInstance {
  readonly service: string;
  readonly instance: string;
  readonly version: string;
  readonly seenAt: string;
  readonly startedAt: string;
  readonly health: string;
  readonly state: string;
}

export interface QueueDepth {
  readonly queue: string;
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly failed: number;
  readonly workers: number;
}

export interface RedisStatus {
  readonly version: string;
  readonly role: string;
  readonly usedMemory: number;
  readonly maxmemory: number;
  readonly maxmemoryPolicy: string;
  readonly aofEnabled: boolean;
  readonly appendfsync: string;
  readonly aofLastWriteStatus: string;
  readonly rdbLastBgsaveStatus: string;
  readonly rdbLastSaveAt: string;
  readonly connectedReplicas: number;
  readonly save: string;
}

export interface AdminCounter {
  readonly name: string;
  readonly value: number;
}

export interface StatusResponse {
  readonly services: readonly ServiceInstance[];
  readonly queues: readonly QueueDepth[];
  readonly redis: RedisStatus | null;
  readonly counters: readonly AdminCounter[];
  readonly at: string;
}

/** A selector with every field at its default (matches nothing). */
export function emptySelector(): Selector {
  return {
    ids: [],
    sender: '',
    recipient: '',
    domain: '',
    nextHop: '',
    states: [],
    olderThanSeconds: 0,
    youngerThanSeconds: 0,
    lastReply: '',
    all: false,
  };
}
