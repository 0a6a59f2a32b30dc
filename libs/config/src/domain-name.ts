// Domain names as the relay keys take them: the greeting's host name, relay
// domains ("example.com" exactly, ".example.com" for its subdomains) and the
// transport map's keys (the same, plus "*" for the default route).
// Results are lower case without a trailing dot, so that comparisons elsewhere
// are plain string equality.
//
// Labels are letters, digits and hyphens (RFC 1035 §2.3.1, with RFC 1123's
// leading digits); internationalised names are written as A-labels
// ("xn--bcher-kva.example").
//
// Does not: resolve anything or check that a name exists.

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export type DomainResult =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly expected: string };

/** A host name: one or more labels (a pod's name is one label). */
export function parseHostname(text: string): DomainResult {
  const name = normalise(text);
  if (!isDomain(name)) {
    return { ok: false, expected: 'a host name such as relay.example.net' };
  }
  return { ok: true, value: name };
}

/**
 * "example.com" (that domain) or ".example.com" (every subdomain of it, not
 * the domain itself, as in Postfix's parent_domain_matches_subdomains off);
 * "*" only where `wildcard` allows it.
 */
export function parseDomainPattern(text: string, options: { wildcard: boolean }): DomainResult {
  const name = normalise(text);
  if (name === '*' && options.wildcard) return { ok: true, value: name };
  const domain = name.startsWith('.') ? name.slice(1) : name;
  if (!isDomain(domain)) {
    const expected = options.wildcard
      ? 'a domain such as example.com, .example.com for its subdomains, or * for every other'
      : 'a domain such as example.com, or .example.com for its subdomains';
    return { ok: false, expected };
  }
  return { ok: true, value: name };
}

function normalise(text: string): string {
  const lower = text.toLowerCase();
  return lower.endsWith('.') && lower.length > 1 ? lower.slice(0, -1) : lower;
}

function isDomain(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}
