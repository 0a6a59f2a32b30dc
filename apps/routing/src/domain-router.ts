// Where the mail for one domain goes next (RFC 5321 §5.1): the transport map
// first, then DNS.
//   MX records        the hosts in preference order, random order among
//                     equal preferences (§5.1 "SHOULD be randomized").
//   no MX, an address the implicit MX: the domain itself, preference 0.
//   no MX, no address permanent: 550 5.1.2.
//   null MX (RFC 7505) permanent: 556 5.1.10.
//   NXDOMAIN          permanent: 550 5.1.2.
//   SERVFAIL, timeout transient: 451 4.4.3; the recipient is routed again later.
//   [192.0.2.1]       that address (only "*" of the transport map applies).
// A transport map host (smtp:host) that DNS cannot find is transient, not
// permanent: a typo in the configuration must not bounce the mail it routes.
//
// Does not: expand lists, strip source routes (recipient-router.ts), or look
// up the next hops' addresses (egress connects by name, at delivery time).

import type { Transport } from '@petrel/config';
import type { DnsAnswer, DnsResolver, MxRecord } from '@petrel/dns';
import type { NextHop, Resolution, RouteReply } from './resolution.js';
import type { TransportMap } from './transport-map.js';

const SMTP_PORT = 25;

export interface DomainRouterOptions {
  readonly transports: TransportMap;
  readonly dns: Pick<DnsResolver, 'mx' | 'a' | 'aaaa'>;
  /** [0, 1), for the order among equal MX preferences; default Math.random. */
  readonly random?: () => number;
}

type Relay = Extract<Resolution, { decision: 'relay' }>;

export class DomainRouter {
  readonly #transports: TransportMap;
  readonly #dns: DomainRouterOptions['dns'];
  readonly #random: () => number;

  constructor(options: DomainRouterOptions) {
    this.#transports = options.transports;
    this.#dns = options.dns;
    this.#random = options.random ?? Math.random;
  }

  /**
   * domain: lower case without a trailing dot, or an address literal "[…]".
   * ignoreHold: a transport map `hold` reads as `mx` (an operator released the mail).
   */
  async route(domain: string, options: { ignoreHold?: boolean } = {}): Promise<Resolution> {
    const match = this.#transports.lookup(domain);
    if (match === null) return this.#byDns(domain, SMTP_PORT, null);
    const { key, transport } = match;
    const base = { domain, source: 'transport-map' as const, cached: false, transport: key };
    const action = transport.action;
    switch (action.kind) {
      case 'mx':
        return this.#byDns(domain, SMTP_PORT, key);
      case 'hold':
        if (options.ignoreHold === true) return this.#byDns(domain, SMTP_PORT, key);
        return { ...base, decision: 'hold' };
      case 'reject':
        return refused(base, action.code, action.enhanced, action.text);
      case 'smtp': {
        if (!action.mx) {
          const hops = [{ host: action.host, preference: 0, port: action.port }];
          return { ...base, ...policy(transport), decision: 'relay', hops };
        }
        const viaHost = await this.#byDns(action.host, action.port, key);
        if (viaHost.decision === 'relay') {
          return { ...viaHost, ...policy(transport), domain, source: 'transport-map' };
        }
        // The configured host is missing from DNS: the operator's mistake, deferred.
        const reply =
          viaHost.decision === 'reject' || viaHost.decision === 'defer'
            ? deferred(`transport ${transport.spec}: ${viaHost.reply.text}`)
            : deferred(`transport ${transport.spec} cannot be resolved`);
        return { ...base, cached: viaHost.cached, decision: 'defer', reply };
      }
    }
  }

  async #byDns(domain: string, port: number, transport: string | null): Promise<Resolution> {
    const literal = literalAddress(domain);
    if (literal !== null) {
      const hops = [{ host: literal, preference: 0, port }];
      return relay(domain, 'literal', false, transport, hops);
    }
    const mx = await this.#dns.mx(domain);
    switch (mx.kind) {
      case 'records':
        return this.#fromMx(domain, port, transport, mx);
      case 'nxdomain': {
        const text = `Domain ${domain} does not exist (NXDOMAIN)`;
        return refused({ domain, source: 'mx', cached: mx.cached, transport }, 550, '5.1.2', text);
      }
      case 'error': {
        const text = `DNS look-up of the MX records of ${domain} failed: ${mx.failure}`;
        return refused({ domain, source: 'mx', cached: false, transport }, 451, '4.4.3', text);
      }
      case 'nodata':
        return this.#implicitMx(domain, port, transport, mx.cached);
    }
  }

  #fromMx(
    domain: string,
    port: number,
    transport: string | null,
    mx: Extract<DnsAnswer<MxRecord>, { kind: 'records' }>,
  ): Resolution {
    if (mx.records.some((record) => record.exchange === '')) {
      const text = `Domain ${domain} accepts no mail (null MX, RFC 7505)`;
      return refused({ domain, source: 'mx', cached: mx.cached, transport }, 556, '5.1.10', text);
    }
    const hops = this.#order(mx.records).map((record) => ({
      host: record.exchange,
      preference: record.preference,
      port,
    }));
    return relay(domain, 'mx', mx.cached, transport, hops);
  }

  async #implicitMx(
    domain: string,
    port: number,
    transport: string | null,
    mxCached: boolean,
  ): Promise<Resolution> {
    const [a, aaaa] = await Promise.all([this.#dns.a(domain), this.#dns.aaaa(domain)]);
    const cached = mxCached && a.kind !== 'error' && a.cached;
    if (a.kind === 'records' || aaaa.kind === 'records') {
      const hops = [{ host: domain, preference: 0, port }];
      return relay(domain, 'implicit-mx', cached, transport, hops);
    }
    const failure = a.kind === 'error' ? a.failure : aaaa.kind === 'error' ? aaaa.failure : null;
    if (failure !== null) {
      const text = `DNS look-up of the address of ${domain} failed: ${failure}`;
      return refused(
        { domain, source: 'implicit-mx', cached: false, transport },
        451,
        '4.4.3',
        text,
      );
    }
    const text = `Domain ${domain} has no MX and no address record`;
    return refused({ domain, source: 'implicit-mx', cached, transport }, 550, '5.1.2', text);
  }

  /** Preference order; equal preferences shuffled (Fisher–Yates within each run). */
  #order(records: readonly MxRecord[]): MxRecord[] {
    const sorted = [...records].sort((x, y) => x.preference - y.preference);
    for (let start = 0; start < sorted.length;) {
      let end = start + 1;
      while (end < sorted.length && sorted[end]!.preference === sorted[start]!.preference) end++;
      for (let i = end - 1; i > start; i--) {
        const j = start + Math.floor(this.#random() * (i - start + 1));
        [sorted[i], sorted[j]] = [sorted[j]!, sorted[i]!];
      }
      start = end;
    }
    return sorted;
  }
}

function relay(
  domain: string,
  source: Relay['source'],
  cached: boolean,
  transport: string | null,
  hops: NextHop[],
): Relay {
  return { domain, source, cached, transport, decision: 'relay', hops, tls: null, auth: null };
}

/** A 5yz reply refuses the domain for good; a 4yz one defers it. */
function refused(
  answered: Pick<Relay, 'domain' | 'source' | 'cached' | 'transport'>,
  code: number,
  enhanced: string,
  text: string,
): Resolution {
  const decision = code >= 500 ? 'reject' : 'defer';
  return { ...answered, decision, reply: { code, enhanced, text } };
}

function policy(transport: Transport): { tls: Relay['tls']; auth: string | null } {
  return { tls: transport.tls, auth: transport.auth };
}

function deferred(text: string): RouteReply {
  return { code: 451, enhanced: '4.4.3', text };
}

/** "[192.0.2.1]" → "192.0.2.1", "[ipv6:2001:db8::1]" → "2001:db8::1"; null for a domain. */
function literalAddress(domain: string): string | null {
  if (!domain.startsWith('[') || !domain.endsWith(']')) return null;
  const inner = domain.slice(1, -1);
  return /^ipv6:/i.test(inner) ? inner.slice(5).toLowerCase() : inner;
}
