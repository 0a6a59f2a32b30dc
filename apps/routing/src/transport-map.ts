// The transport map look-up (routing.transports): the most specific key wins,
// whatever the order of the file: the domain itself, then ".parent" keys from
// the nearest parent up, then "*". As Postfix's transport(5) with
// parent_domain_matches_subdomains off: ".example.com" matches
// a.example.com and a.b.example.com, not example.com.
//
// Address literals ("[192.0.2.1]") match only "*": a smarthost takes all mail.
//
// A reload replaces the entries whole (replace()); every look-up after it reads
// the new map. Nothing caches a look-up's answer, so the next resolution of a
// domain follows the new entry (the DNS cache holds DNS answers only).

import type { Transport } from '@petrel/config';

export interface TransportMatch {
  /** The key that matched. */
  readonly key: string;
  readonly transport: Transport;
}

export class TransportMap {
  #entries: ReadonlyMap<string, Transport>;

  constructor(transports: Readonly<Record<string, Transport>>) {
    this.#entries = new Map(Object.entries(transports));
  }

  /** Puts a new routing.transports in force, whole, for every look-up from now on. */
  replace(transports: Readonly<Record<string, Transport>>): void {
    this.#entries = new Map(Object.entries(transports));
  }

  get size(): number {
    return this.#entries.size;
  }

  /** domain: lower case, no trailing dot (Mailbox.domain), or an address literal. */
  lookup(domain: string): TransportMatch | null {
    if (this.#entries.size === 0) return null;
    if (!domain.startsWith('[')) {
      const exact = this.#entries.get(domain);
      if (exact !== undefined) return { key: domain, transport: exact };
      for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
        const key = domain.slice(dot);
        const parent = this.#entries.get(key);
        if (parent !== undefined) return { key, transport: parent };
      }
    }
    const fallback = this.#entries.get('*');
    return fallback === undefined ? null : { key: '*', transport: fallback };
  }
}
