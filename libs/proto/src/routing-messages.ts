// The messages of petrel.routing.v1 as TypeScript sees them on the wire:
// written by hand to match what @grpc/proto-loader produces with
// LOADER_OPTIONS (camelCase fields, enums as their value names, uint32 as
// number, every scalar and repeated field present with its default, an unset
// message field null). routing-messages.spec.ts checks them against the
// loaded .proto, so a field added to routing.proto without its type here
// fails the build.
//
// Sending, a field may be left at its default; receiving, every field is there.

/** petrel.routing.v1.Decision, in field-number order. */
export const DECISIONS = [
  'DECISION_UNSPECIFIED',
  'RELAY',
  'REJECT',
  'DEFER',
  'HOLD',
  'EXPAND',
] as const;
export type Decision = (typeof DECISIONS)[number];

/** petrel.routing.v1.Source, in field-number order. */
export const SOURCES = [
  'SOURCE_UNSPECIFIED',
  'TRANSPORT_MAP',
  'MX',
  'IMPLICIT_MX',
  'LITERAL',
  'LIST',
] as const;
export type Source = (typeof SOURCES)[number];

export interface ResolveRequest {
  /** A domain, an address literal "[192.0.2.1]", or an address "user@domain" / "<@a,@b:user@c>". */
  readonly query: string;
  /** The client may have source routes honoured. */
  readonly trusted: boolean;
}

export interface NextHop {
  /** A host name (lower case, no trailing dot) or an IP address. */
  readonly host: string;
  /** MX preference; 0 for a transport map host or an address literal. */
  readonly preference: number;
  readonly port: number;
}

export interface Reply {
  readonly code: number;
  /** RFC 3463 enhanced status code, e.g. "5.1.2". */
  readonly enhanced: string;
  readonly text: string;
}

export interface ResolveResponse {
  readonly decision: Decision;
  /** RELAY: the next hops in order; empty otherwise. */
  readonly hops: readonly NextHop[];
  readonly source: Source;
  /** True when the DNS part of the answer came from the cache. */
  readonly cached: boolean;
  /** REJECT and DEFER: the reply for the sender; null otherwise. */
  readonly reply: Reply | null;
  /** The matched transport map key, "" when none. */
  readonly transport: string;
  /** "" when none is set, else "none", "opportunistic" or "required". */
  readonly tls: string;
  /** The name of the egress credentials for AUTH, "" for none. */
  readonly auth: string;
  /** EXPAND: the list's members; empty otherwise. */
  readonly members: readonly string[];
  /** The domain the answer is for (lower case, A-labels). */
  readonly domain: string;
}
