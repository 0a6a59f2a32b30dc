// A stub resolver (RFC 1034 §5.3.1) for mail routing: MX, A and AAAA asked of
// the configured recursive resolvers, with the TTLs node:dns cannot give.
//
// - Servers are asked in rounds: each server once per round, in the order
//   configured, `tries` rounds (default 2; resolv.conf's `attempts`). A
//   timeout, a socket error, SERVFAIL, REFUSED or FORMERR moves on to the next
//   server; records, NODATA or NXDOMAIN end the look-up. When every try fails,
//   the last failure is the answer. Worst case: tries × servers × timeoutMs
//   (twice that for a server whose answers are truncated).
// - A truncated UDP answer (TC) is asked again of the same server over TCP,
//   with a timeoutMs of its own.
// - Cache (LRU, `cacheEntries`, default 10,000; 0 turns it off): records for
//   their TTL, at most one day, not at all for a TTL of 0; NXDOMAIN and NODATA
//   for min(SOA TTL, SOA MINIMUM) from the authority section (RFC 2308 §5), at
//   most one hour, not at all without an SOA. Failures are never cached.
// - Identical look-ups in flight share one network look-up.
// - A name the DNS cannot carry (see query-name.ts) is nxdomain without a query.
// - A look-up never rejects: every failure is an answer of kind 'error'.
//
// Does not: sort MX records (the caller picks by preference), fall back to A
// and AAAA when there is no MX (RFC 5321 §5.1 is routing's), validate DNSSEC,
// or retry without EDNS after a FORMERR.

import { randomInt } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { AnswerCache, type CacheEntry } from './answer-cache.js';
import type { DnsAnswer, DnsQueryEvent, MxRecord, QueryType, RecordOf } from './dns-answer.js';
import { answersQuery, encodeQuery, readResponse, type Outcome } from './dns-message.js';
import { CLOSED, type ExchangeRequest } from './exchange.js';
import { queryName } from './query-name.js';
import { parseServer, systemServers, type ServerAddress } from './server-address.js';
import { exchangeTcp } from './tcp-exchange.js';
import { exchangeUdp } from './udp-exchange.js';

export interface DnsResolverOptions {
  /**
   * "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:5353", "2001:db8::53";
   * empty: the system's (node:dns getServers(), read once at construction).
   */
  readonly servers: readonly string[];
  /** Per try: how long one server has to answer one query, in ms. */
  readonly timeoutMs: number;
  /** Rounds over all servers; each server is asked at most this many times. Default 2. */
  readonly tries?: number;
  /** LRU capacity; default 10,000; 0 turns the cache off. */
  readonly cacheEntries?: number;
  /** ms clock for cache expiry (tests); default Date.now. */
  readonly now?: () => number;
  readonly onQuery?: (event: DnsQueryEvent) => void;
}

export const DEFAULT_TRIES = 2;
export const DEFAULT_CACHE_ENTRIES = 10_000;
/** The longest a positive answer is cached, in seconds (BIND's max-cache-ttl is 7 days). */
export const MAX_POSITIVE_TTL = 86_400;
/** The longest a negative answer is cached (RFC 2308 §5: one to three hours). */
export const MAX_NEGATIVE_TTL = 3_600;

type CachedAnswer =
  | { readonly kind: 'records'; readonly records: readonly unknown[] }
  | { readonly kind: 'nodata' | 'nxdomain' };

export class DnsResolver {
  readonly #servers: readonly ServerAddress[];
  readonly #timeoutMs: number;
  readonly #tries: number;
  readonly #cache: AnswerCache<CachedAnswer>;
  readonly #now: () => number;
  readonly #onQuery: ((event: DnsQueryEvent) => void) | undefined;
  readonly #inFlight = new Map<string, Promise<DnsAnswer<unknown>>>();
  readonly #closing = new AbortController();

  constructor(options: DnsResolverOptions) {
    const { timeoutMs, tries = DEFAULT_TRIES, cacheEntries = DEFAULT_CACHE_ENTRIES } = options;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(`DnsResolver: timeoutMs must be a positive number, got ${timeoutMs}`);
    }
    if (!Number.isInteger(tries) || tries < 1) {
      throw new RangeError(`DnsResolver: tries must be a whole number ≥ 1, got ${tries}`);
    }
    if (!Number.isInteger(cacheEntries) || cacheEntries < 0) {
      throw new RangeError(
        `DnsResolver: cacheEntries must be a whole number ≥ 0, got ${cacheEntries}`,
      );
    }
    const servers = options.servers.length > 0 ? options.servers : systemServers();
    this.#servers = servers.map(parseServer);
    this.#timeoutMs = timeoutMs;
    this.#tries = tries;
    this.#cache = new AnswerCache(cacheEntries);
    this.#now = options.now ?? Date.now;
    this.#onQuery = options.onQuery;
    // Every exchange in flight listens for close(); there may be thousands.
    setMaxListeners(0, this.#closing.signal);
  }

  /** The servers asked, in order ("192.0.2.53:53", "[2001:db8::53]:53"). */
  get servers(): readonly string[] {
    return this.#servers.map((server) => server.label);
  }

  mx(name: string): Promise<DnsAnswer<MxRecord>> {
    return this.#lookup(name, 'MX');
  }

  a(name: string): Promise<DnsAnswer<string>> {
    return this.#lookup(name, 'A');
  }

  aaaa(name: string): Promise<DnsAnswer<string>> {
    return this.#lookup(name, 'AAAA');
  }

  /** Ends every look-up in flight as 'network' and closes their sockets; later look-ups fail too. */
  close(): void {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    this.#cache.clear();
  }

  #lookup<T extends QueryType>(input: string, type: T): Promise<DnsAnswer<RecordOf<T>>> {
    const name = queryName(input);
    if (name === null) return Promise.resolve({ kind: 'nxdomain', cached: false });
    if (this.#closing.signal.aborted) return Promise.resolve(failed(CLOSED.message));
    const key = `${type} ${name}`;
    const hit = this.#cache.get(key, this.#now());
    if (hit !== undefined) return Promise.resolve(fromCache(hit, this.#now()));
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending as Promise<DnsAnswer<RecordOf<T>>>;
    const lookup = this.#resolve(name, type, key).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, lookup);
    return lookup;
  }

  async #resolve<T extends QueryType>(
    name: string,
    type: T,
    key: string,
  ): Promise<DnsAnswer<RecordOf<T>>> {
    const started = performance.now();
    let outcome: Outcome<RecordOf<T>>;
    try {
      outcome = await this.#ask(name, type);
    } catch (err) {
      outcome = { kind: 'error', failure: 'network', message: String(err) };
    }
    this.#report(type, outcome, started);
    return this.#remember(key, outcome);
  }

  async #ask<T extends QueryType>(name: string, type: T): Promise<Outcome<RecordOf<T>>> {
    let last: Outcome<RecordOf<T>> = failed(
      'no DNS servers: none configured, and none in the system configuration',
    );
    for (let round = 0; round < this.#tries; round++) {
      for (const server of this.#servers) {
        if (this.#closing.signal.aborted) return failed(CLOSED.message);
        const outcome = await this.#askServer(server, name, type);
        if (outcome.kind !== 'error') return outcome;
        last = outcome;
      }
    }
    return last;
  }

  async #askServer<T extends QueryType>(
    server: ServerAddress,
    name: string,
    type: T,
  ): Promise<Outcome<RecordOf<T>>> {
    // RFC 5452 §9.2: an unpredictable id, on a fresh random source port per query.
    const id = randomInt(0x10000);
    const request: ExchangeRequest = {
      server,
      query: encodeQuery(id, name, type),
      accepts: (response) => answersQuery(response, id, name, type),
      timeoutMs: this.#timeoutMs,
      signal: this.#closing.signal,
    };
    let result = await exchangeUdp(request);
    // RFC 7766 §5, RFC 2181 §9: a truncated answer is asked again over TCP.
    if (result.ok && result.response.flag_tc) result = await exchangeTcp(request);
    if (!result.ok) return { kind: 'error', failure: result.failure, message: result.message };
    const outcome = readResponse(result.response, name, type);
    return outcome.kind === 'error'
      ? { ...outcome, message: `${server.label}: ${outcome.message} for ${name} ${type}` }
      : outcome;
  }

  #remember<T>(key: string, outcome: Outcome<T>): DnsAnswer<T> {
    const caching = !this.#closing.signal.aborted;
    const now = this.#now();
    switch (outcome.kind) {
      case 'records': {
        const records = Object.freeze(outcome.records.map((record) => freeze(record)));
        const seconds = Math.min(outcome.ttl, MAX_POSITIVE_TTL);
        if (caching && seconds > 0) {
          this.#cache.set(key, { kind: 'records', records }, now + seconds * 1000);
        }
        return { kind: 'records', records, ttl: outcome.ttl, cached: false };
      }
      case 'nodata':
      case 'nxdomain': {
        const seconds = Math.min(outcome.negativeTtl ?? 0, MAX_NEGATIVE_TTL);
        if (caching && seconds > 0) {
          this.#cache.set(key, { kind: outcome.kind }, now + seconds * 1000);
        }
        return { kind: outcome.kind, cached: false };
      }
      case 'error':
        return { kind: 'error', failure: outcome.failure, message: outcome.message };
    }
  }

  #report(type: QueryType, outcome: Outcome<unknown>, started: number): void {
    if (this.#onQuery === undefined) return;
    const event: DnsQueryEvent = {
      type,
      outcome: outcome.kind === 'error' ? outcome.failure : outcome.kind,
      seconds: (performance.now() - started) / 1000,
    };
    try {
      this.#onQuery(event);
    } catch {
      // A metrics hook's fault must not fail the look-up.
    }
  }
}

function fromCache<T>(entry: CacheEntry<CachedAnswer>, now: number): DnsAnswer<T> {
  const { value } = entry;
  if (value.kind !== 'records') return { kind: value.kind, cached: true };
  // The time left, rounded up: an answer still in the cache never says 0.
  const ttl = Math.max(1, Math.ceil((entry.expiresAt - now) / 1000));
  return { kind: 'records', records: value.records as readonly T[], ttl, cached: true };
}

function failed(message: string): { kind: 'error'; failure: 'network'; message: string } {
  return { kind: 'error', failure: 'network', message };
}

function freeze<T>(record: T): T {
  return typeof record === 'object' && record !== null ? Object.freeze(record) : record;
}
