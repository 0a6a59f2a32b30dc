// @petrel/dns: a stub DNS resolver for mail routing. MX, A and AAAA asked of
// the configured recursive resolvers over UDP (TCP when truncated), with the
// answers' TTLs, an LRU cache (positive and RFC 2308 negative answers), and a
// metrics hook. Routing decides what the answers mean for a next hop.
export {
  DnsResolver,
  DEFAULT_CACHE_ENTRIES,
  DEFAULT_TRIES,
  MAX_NEGATIVE_TTL,
  MAX_POSITIVE_TTL,
  type DnsResolverOptions,
} from './dns-resolver.js';
export type {
  DnsAnswer,
  DnsFailure,
  DnsQueryEvent,
  MxRecord,
  QueryType,
  RecordOf,
} from './dns-answer.js';
export { queryName } from './query-name.js';
