// Relay permission for one recipient: may this client hand us mail for this
// forward-path? Judged on the destination routing will actually use, so that
// no spelling of an address reaches a domain the operator did not open.
//
// The rules, in order:
//   1. <postmaster> without a domain is always accepted (RFC 5321 §4.5.1).
//   2. A relay domain is accepted from anyone, unless the local part carries
//      sender-specified routing ('%', '!' or '@', quoted or not: the percent
//      hack, UUCP bang paths, "user@victim"@relay) and the client is neither
//      trusted nor authenticated; Postfix's allow_untrusted_routing = no.
//   3. A client in a trusted network, or one that authenticated, may relay to
//      any destination.
//   4. Anything else is refused: 'address-literal' when the destination is an
//      address literal nobody listed, 'sender-routing' for rule 2's refusal,
//      'not-permitted' otherwise. The host answers 554 5.7.1 Relay access denied.
//
// A source route (@a,@b:user@c, RFC 5321 §3.6.1 and appendix C) is never
// judged: only the final mailbox's domain is, because routing strips the route
// and delivers to that domain. The reverse-path is never looked at, so a
// forged sender from a relay domain grants nothing.
//
// Relay domains: "example.com" matches that domain only; ".example.com"
// matches its subdomains only (write both for both); "[192.0.2.1]" and
// "[IPv6:2001:db8::1]" match that address literal only. A relay domain never
// matches as a label prefix or suffix of another domain ("relay.test" matches
// neither "relay.test.evil.test" nor "evilrelay.test"), and a domain with a
// trailing dot or an empty label matches nothing.
//
// Does not: look up DNS or MX records, know the host's own addresses (mail to
// user@[our address] is refused unless that literal is listed), convert
// U-labels to A-labels (a non-ASCII domain matches no relay domain), or decide
// whether a recipient exists.

import { parseAddressLiteral, type Path } from '@petrel/smtp';
import type { NetworkList } from './networks.js';

export interface RelayContext {
  /** The client's address as the session sees it (after PROXY protocol). */
  clientAddress: string;
  authenticated: boolean;
  trustedNetworks: NetworkList;
  relayDomains: RelayDomains;
}

export type RelayDecision =
  | { allowed: true; reason: 'relay-domain' | 'trusted-network' | 'authenticated' | 'postmaster' }
  | { allowed: false; reason: 'not-permitted' | 'sender-routing' | 'address-literal' };

export class RelayDomains {
  private constructor(
    /** Exact domains and bracketed literals in Mailbox.domain's form. */
    private readonly exact: ReadonlySet<string>,
    /** Parents whose subdomains match, each with its leading dot (".example.com"). */
    private readonly parents: ReadonlySet<string>,
    /** The entries in canonical form, for logs. */
    readonly entries: readonly string[],
  ) {}

  /**
   * Parses "example.com", ".example.com", "[192.0.2.1]", "[IPv6:2001:db8::1]"
   * (letters in any case). Throws an Error naming the first bad entry.
   */
  static parse(entries: readonly string[]): RelayDomains {
    const exact = new Set<string>();
    const parents = new Set<string>();
    const canonical: string[] = [];
    for (const entry of entries) {
      const e = parseEntry(entry);
      if (e.error !== null) {
        throw new Error(`invalid relay domain ${JSON.stringify(entry)}: ${e.error}`);
      }
      (e.parent ? parents : exact).add(e.key);
      canonical.push(e.key);
    }
    return new RelayDomains(exact, parents, canonical);
  }

  /** Whether mail for this domain (Mailbox.domain's form) is ours to accept from anyone. */
  matches(domain: string): boolean {
    let d = domain;
    if (/[A-Z]/.test(d)) d = d.toLowerCase();
    if (d.charCodeAt(0) === LBRACKET) {
      // Literals match exactly or not at all, compared in canonical form.
      const key = literalKey(d);
      return key !== null && this.exact.has(key);
    }
    if (this.exact.has(d)) return true;
    if (this.parents.size === 0 || !wellFormedDomain(d)) return false;
    for (let dot = d.indexOf('.'); dot >= 0; dot = d.indexOf('.', dot + 1)) {
      if (this.parents.has(d.slice(dot))) return true;
    }
    return false;
  }
}

/** Whether `recipient` may be accepted from this client; see the rules above. */
export function decideRelay(recipient: Path, ctx: RelayContext): RelayDecision {
  const mailbox = recipient.mailbox;
  if (mailbox === null) return DENY.notPermitted; // <> is no forward-path
  if (mailbox.domain === null) return ALLOW.postmaster;

  const routed = hasSenderRouting(mailbox.localPart);
  const ours = ctx.relayDomains.matches(mailbox.domain);
  if (ours && !routed) return ALLOW.relayDomain;
  if (ctx.trustedNetworks.contains(ctx.clientAddress)) return ALLOW.trustedNetwork;
  if (ctx.authenticated) return ALLOW.authenticated;
  if (ours) return DENY.senderRouting;
  if (mailbox.addressLiteral !== null || mailbox.domain.charCodeAt(0) === LBRACKET) {
    return DENY.addressLiteral;
  }
  return DENY.notPermitted;
}

/**
 * '%', '!' or '@' in a local part: routing the next hop may act on (Sendmail's
 * percent hack and bang paths, a quoted "user@victim"). Checked on the local
 * part as parsed, so quoting and backslash escapes hide nothing.
 */
function hasSenderRouting(localPart: string): boolean {
  return /[%!@]/.test(localPart);
}

const ALLOW = {
  postmaster: Object.freeze({ allowed: true, reason: 'postmaster' }),
  relayDomain: Object.freeze({ allowed: true, reason: 'relay-domain' }),
  trustedNetwork: Object.freeze({ allowed: true, reason: 'trusted-network' }),
  authenticated: Object.freeze({ allowed: true, reason: 'authenticated' }),
} as const satisfies Record<string, RelayDecision>;

const DENY = {
  notPermitted: Object.freeze({ allowed: false, reason: 'not-permitted' }),
  senderRouting: Object.freeze({ allowed: false, reason: 'sender-routing' }),
  addressLiteral: Object.freeze({ allowed: false, reason: 'address-literal' }),
} as const satisfies Record<string, RelayDecision>;

const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * An ASCII domain of letter-digit-hyphen labels, none empty, no trailing dot,
 * at most 255 octets, its last label not all digits (RFC 5321 §4.1.2, RFC 1035
 * §2.3.4, RFC 3696 §2). Lower-case only: callers lower-case first.
 */
function wellFormedDomain(d: string): boolean {
  if (d.length === 0 || d.length > 255) return false;
  const labels = d.split('.');
  if (!labels.every((l) => LABEL.test(l))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

/** "[…]" in Mailbox.domain's canonical form ("[192.0.2.1]", "[ipv6:2001:db8::1]"), or null. */
function literalKey(text: string): string | null {
  if (text.charCodeAt(text.length - 1) !== RBRACKET) return null;
  const literal = parseAddressLiteral(text.slice(1, -1));
  if (literal === null) return null;
  return literal.family === 6 ? `[ipv6:${literal.address}]` : `[${literal.address}]`;
}

function parseEntry(
  entry: string,
): { key: string; parent: boolean; error: null } | { error: string } {
  if (entry.charCodeAt(0) === LBRACKET) {
    const key = literalKey(entry);
    if (key === null) {
      return { error: 'not an address literal (write [192.0.2.1] or [IPv6:2001:db8::1])' };
    }
    return { key, parent: false, error: null };
  }
  const parent = entry.startsWith('.');
  const name = (parent ? entry.slice(1) : entry).toLowerCase();
  if (name.endsWith('.')) return { error: 'write the domain without a trailing dot' };
  if (/[^\x20-\x7e]/.test(name)) {
    return { error: 'write an internationalised domain in its ASCII form (xn--…)' };
  }
  if (!wellFormedDomain(name)) {
    if (/^[0-9.]+$/.test(name))
      return { error: 'an IP address is written as a literal: [192.0.2.1]' };
    return { error: 'not a domain name' };
  }
  return { key: parent ? `.${name}` : name, parent, error: null };
}
