// A list of IP networks (the trusted networks, the load balancers allowed to
// speak PROXY protocol) and the question asked of it for every RCPT: is this
// client address inside?
//
// An address and its IPv4-mapped IPv6 form are the same host: a dual-stack
// socket reports an IPv4 client as "::ffff:192.0.2.1", and that client matches
// the entry "192.0.2.0/24"; likewise "::ffff:192.0.2.0/120" matches 192.0.2.1.
// A bare address is a /32 or /128. Entries with bits set beyond the prefix
// ("10.1.2.3/8") are refused rather than widened silently: they are usually
// typos for a narrower network.
//
// Does not: resolve names, accept wildcards ("10.*"), shortened IPv4 forms
// ("127.1") or zone identifiers in entries; read any file.
//
// RFC 4632 §3.1 (prefix notation), RFC 4291 §2.3 (IPv6 prefixes), §2.5.5.2
// (IPv4-mapped addresses).

import {
  formatIPv4,
  formatIPv6,
  MAPPED_IPV4_BASE,
  MAPPED_IPV4_LAST,
  parseIPv4,
  parseIPv6,
  unmapIPv4,
} from './ip-address.js';

const ALL_V6 = (1n << 128n) - 1n;

export class NetworkList {
  private constructor(
    /** Inclusive IPv4 ranges as [start, end, start, end, …]. */
    private readonly v4: Uint32Array,
    /** Inclusive IPv6 ranges outside the mapped block's view (it is in v4). */
    private readonly v6: readonly (readonly [bigint, bigint])[],
    /** The entries in canonical form, for logs and the startup banner. */
    readonly entries: readonly string[],
  ) {}

  /**
   * Parses "192.0.2.0/24", "2001:db8::/32", "127.0.0.1", "::1". Throws an
   * Error naming the first bad entry.
   */
  static parse(cidrs: readonly string[]): NetworkList {
    const v4: number[] = [];
    const v6: (readonly [bigint, bigint])[] = [];
    const entries: string[] = [];
    for (const entry of cidrs) {
      const net = parseEntry(entry);
      if (typeof net === 'string') {
        throw new Error(`invalid network ${JSON.stringify(entry)}: ${net}`);
      }
      entries.push(net.canonical);
      if (net.family === 4) {
        v4.push(net.start, net.end);
        continue;
      }
      v6.push([net.start, net.end]);
      // The part of an IPv6 range inside ::ffff:0:0/96 holds IPv4 hosts.
      const lo = net.start > MAPPED_IPV4_BASE ? net.start : MAPPED_IPV4_BASE;
      const hi = net.end < MAPPED_IPV4_LAST ? net.end : MAPPED_IPV4_LAST;
      if (lo <= hi) v4.push(unmapIPv4(lo), unmapIPv4(hi));
    }
    return new NetworkList(Uint32Array.from(v4), v6, entries);
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * Whether the client address (as a socket reports it) lies in any entry.
   * False for anything that is not an IP address (a UNIX socket path, "").
   */
  contains(address: string): boolean {
    if (address.indexOf(':') < 0) {
      const v = parseIPv4(address);
      return v >= 0 && this.containsV4(v);
    }
    const zone = address.indexOf('%');
    const value = parseIPv6(zone < 0 ? address : address.slice(0, zone));
    if (value === null) return false;
    const v4 = unmapIPv4(value);
    if (v4 >= 0) return this.containsV4(v4);
    for (const [start, end] of this.v6) {
      if (value >= start && value <= end) return true;
    }
    return false;
  }

  private containsV4(v: number): boolean {
    const ranges = this.v4;
    for (let k = 0; k < ranges.length; k += 2) {
      if (v >= ranges[k]! && v <= ranges[k + 1]!) return true;
    }
    return false;
  }
}

type Network =
  | { family: 4; start: number; end: number; canonical: string }
  | { family: 6; start: bigint; end: bigint; canonical: string };

/** One entry as a range, or the reason it is refused. */
function parseEntry(entry: string): Network | string {
  const slash = entry.indexOf('/');
  const addressText = slash < 0 ? entry : entry.slice(0, slash);
  const prefixText = slash < 0 ? null : entry.slice(slash + 1);
  if (addressText.includes('%')) return 'zone identifiers are not allowed';

  if (!addressText.includes(':')) {
    const address = parseIPv4(addressText);
    if (address < 0) return 'not an IPv4 or IPv6 address (write a.b.c.d/n or an IPv6 prefix)';
    const prefix = parsePrefix(prefixText, 32);
    if (prefix < 0) return 'the prefix length must be a number from 0 to 32';
    const size = 2 ** (32 - prefix);
    if (address % size !== 0) {
      return `address bits set beyond the /${prefix} prefix (did you mean ${formatIPv4(address - (address % size))}/${prefix}?)`;
    }
    return {
      family: 4,
      start: address,
      end: address + size - 1,
      canonical: `${formatIPv4(address)}/${prefix}`,
    };
  }

  const address = parseIPv6(addressText);
  if (address === null) return 'not an IPv6 address';
  const prefix = parsePrefix(prefixText, 128);
  if (prefix < 0) return 'the prefix length must be a number from 0 to 128';
  const hostMask = ALL_V6 >> BigInt(prefix);
  if ((address & hostMask) !== 0n) {
    return `address bits set beyond the /${prefix} prefix (did you mean ${formatIPv6(address & ~hostMask & ALL_V6)}/${prefix}?)`;
  }
  return {
    family: 6,
    start: address,
    end: address | hostMask,
    canonical: `${formatIPv6(address)}/${prefix}`,
  };
}

/** "n" in 0..max without sign or leading zeros; `max` when absent; -1 when bad. */
function parsePrefix(text: string | null, max: number): number {
  if (text === null) return max;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(text)) return -1;
  const n = Number(text);
  return n <= max ? n : -1;
}
