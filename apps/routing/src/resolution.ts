// What routing decides for one domain or address: the answer of the Resolve
// gRPC call, and what the transactions worker groups recipients by.
//   relay:  send to these next hops, in order (MX preference, random among
//           equal preferences).
//   reject: permanently unroutable (transport map reject:, null MX, NXDOMAIN).
//   hold:   keep until an operator releases it (transport map hold).
//   defer:  transiently unroutable (DNS SERVFAIL or timeout): try again later.
//   expand: a configured list; route each member instead.

export type TlsPolicy = 'none' | 'opportunistic' | 'required';

/** Where an answer came from. */
export type RouteSource = 'transport-map' | 'mx' | 'implicit-mx' | 'literal' | 'list';

export interface NextHop {
  /** A host name (lower case, no trailing dot) or an IP address. */
  readonly host: string;
  /** MX preference; 0 for a transport map host or an address literal. */
  readonly preference: number;
  readonly port: number;
}

export interface RouteReply {
  readonly code: number;
  /** RFC 3463 enhanced status code, e.g. "5.1.2". */
  readonly enhanced: string;
  readonly text: string;
}

interface Answered {
  /** The domain the answer is for (lower case, A-labels). */
  readonly domain: string;
  readonly source: RouteSource;
  /** True when the DNS part of the answer came from the cache. */
  readonly cached: boolean;
  /** The transport map key that matched ("example.com", ".example.com", "*"), or null. */
  readonly transport: string | null;
}

export type Resolution =
  | (Answered & {
      readonly decision: 'relay';
      readonly hops: readonly NextHop[];
      /** null: egress.tls applies. */
      readonly tls: TlsPolicy | null;
      /** The name of egress credentials for AUTH to this next hop, or null. */
      readonly auth: string | null;
    })
  | (Answered & { readonly decision: 'reject'; readonly reply: RouteReply })
  | (Answered & { readonly decision: 'defer'; readonly reply: RouteReply })
  | (Answered & { readonly decision: 'hold' })
  | (Answered & { readonly decision: 'expand'; readonly members: readonly string[] });
