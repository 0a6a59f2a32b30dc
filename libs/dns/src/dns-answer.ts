// The resolver's vocabulary: what a look-up returns and what it reports for
// metrics. Plain data, no behaviour.
//
// Does not: decide what an answer means for mail routing (null MX as a
// permanent failure, implicit MX, timeouts as transient): that is routing's.

/** The record types the resolver asks for. */
export type QueryType = 'MX' | 'A' | 'AAAA';

/** One MX record (RFC 1035 §3.3.9). */
export interface MxRecord {
  /** Lower case, no trailing dot; '' for the null MX "." (RFC 7505 §3). */
  readonly exchange: string;
  readonly preference: number;
}

/** The record a query type yields: MX records, or addresses for A and AAAA. */
export type RecordOf<T extends QueryType> = T extends 'MX' ? MxRecord : string;

/**
 * Why no answer: the server's RCODE (RFC 1035 §4.1.1: SERVFAIL, REFUSED,
 * FORMERR; any other unexpected RCODE counts as servfail), no answer in time,
 * or a socket error (also: no servers, the resolver closed).
 */
export type DnsFailure = 'servfail' | 'timeout' | 'refused' | 'formerr' | 'network';

export type DnsAnswer<T> =
  | {
      readonly kind: 'records';
      readonly records: readonly T[];
      /**
       * Seconds: the least TTL of the answer RRset and the CNAMEs followed to it.
       * From the cache: the time left there (the cache keeps at most one day).
       */
      readonly ttl: number;
      readonly cached: boolean;
    }
  /** The name exists, without records of that type (RFC 2308 §2.2). */
  | { readonly kind: 'nodata'; readonly cached: boolean }
  /** The name does not exist (RFC 2308 §2.1). */
  | { readonly kind: 'nxdomain'; readonly cached: boolean }
  | { readonly kind: 'error'; readonly failure: DnsFailure; readonly message: string };

/** One per look-up that went to the network (cache hits and shared look-ups report none). */
export interface DnsQueryEvent {
  readonly type: QueryType;
  readonly outcome: 'records' | 'nodata' | 'nxdomain' | DnsFailure;
  /** From the first packet sent to the final outcome, over every try and server. */
  readonly seconds: number;
}
