// Network blocks in CIDR notation ("10.0.0.0/8", "2001:db8::/32"), as the
// relay-permission keys take them. A bare address is one host (/32 or /128).
//
// Refuses, with a message saying why: prefixes out of range, host bits set
// below the prefix ("10.0.0.1/8" is almost always a typing mistake, and
// Postfix refuses it too; the message gives the network meant), zone indices
// ("fe80::1%eth0"), and anything node:net does not call an IP address.
//
// Does not: match addresses against networks (ingress does, with its own
// matcher), or treat IPv4-mapped IPv6 addresses as IPv4.

import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  readonly family: 'ipv4' | 'ipv6';
  /** The network address as written, in lower case (its host bits are zero). */
  readonly address: string;
  readonly prefix: number;
}

export type CidrResult =
  | { readonly ok: true; readonly cidr: Cidr }
  | { readonly ok: false; readonly expected: string; readonly hint?: string };

/** Parses "address/prefix" or a bare address. */
export function parseCidr(text: string): CidrResult {
  const slash = text.indexOf('/');
  const address = (slash === -1 ? text : text.slice(0, slash)).toLowerCase();
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  if (family === null || address.includes('%')) {
    return { ok: false, expected: 'a network such as 10.0.0.0/8 or 2001:db8::/32' };
  }
  const bits = family === 'ipv4' ? 32 : 128;
  let prefix = bits;
  if (slash !== -1) {
    const written = text.slice(slash + 1);
    prefix = /^\d{1,3}$/.test(written) ? Number(written) : Number.NaN;
    if (!(prefix >= 0 && prefix <= bits)) {
      return { ok: false, expected: `a prefix length from 0 to ${bits} after the /` };
    }
  }
  const bytes = family === 'ipv4' ? ipv4Bytes(address) : ipv6Bytes(address);
  const network = maskBytes(bytes, prefix);
  if (!network.every((byte, i) => byte === bytes[i])) {
    const meant = `${formatBytes(family, network)}/${prefix}`;
    return {
      ok: false,
      expected: `a network address, with no bits set below its /${prefix} prefix`,
      hint: `did you mean ${meant}?`,
    };
  }
  return { ok: true, cidr: { family, address, prefix } };
}

export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefix}`;
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

/** Sixteen bytes of an address node:net already calls IPv6. */
function ipv6Bytes(address: string): number[] {
  const lastColon = address.lastIndexOf(':');
  if (!address.includes('.', lastColon)) return groupsToBytes(expandGroups(address));
  // An embedded dotted quad ("::ffff:10.0.0.1") is the last 32 bits.
  const head = groupsToBytes(expandGroups(`${address.slice(0, lastColon + 1)}0:0`));
  return head.slice(0, 12).concat(ipv4Bytes(address.slice(lastColon + 1)));
}

function expandGroups(text: string): number[] {
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  if (rest === undefined) return left.map((group) => parseInt(group, 16));
  const right = rest === '' ? [] : rest.split(':');
  const zeros = new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16));
}

function groupsToBytes(groups: number[]): number[] {
  return groups.flatMap((group) => [group >> 8, group & 0xff]);
}

function maskBytes(bytes: number[], prefix: number): number[] {
  return bytes.map((byte, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
}

function formatBytes(family: 'ipv4' | 'ipv6', bytes: number[]): string {
  if (family === 'ipv4') return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  }
  // The longest run of two or more zero groups becomes "::" (RFC 5952 §4.2).
  let best = { at: -1, length: 1 };
  for (let at = 0; at < 8;) {
    let length = 0;
    while (groups[at + length] === '0') length += 1;
    if (length > best.length) best = { at, length };
    at += Math.max(length, 1);
  }
  if (best.at === -1) return groups.join(':');
  const left = groups.slice(0, best.at).join(':');
  const right = groups.slice(best.at + best.length).join(':');
  return `${left}::${right}`;
}
