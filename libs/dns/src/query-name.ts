// The name a look-up asks for, in the one form the cache and the wire use:
// IDNA A-labels (U-labels converted with node:url's domainToASCII, UTS #46),
// lower case, no trailing dot.
//
// Does not: judge whether a name may receive mail, or accept names the DNS
// cannot carry: an empty name, an empty label, a label over 63 octets or a
// name over 253 octets (RFC 1035 §2.3.4) come back as null.

import { domainToASCII } from 'node:url';

const MAX_LABEL = 63;
const MAX_NAME = 253;

export function queryName(input: string): string | null {
  const ascii = domainToASCII(input.trim());
  if (ascii === '') return null;
  const name = ascii.toLowerCase().replace(/\.$/, '');
  if (name === '' || name.length > MAX_NAME) return null;
  for (const label of name.split('.')) {
    if (label === '' || label.length > MAX_LABEL) return null;
  }
  return name;
}

/** A name from a response: lower case, no trailing dot; the root is ''. */
export function wireName(name: string): string {
  return name === '.' ? '' : name.toLowerCase().replace(/\.$/, '');
}
