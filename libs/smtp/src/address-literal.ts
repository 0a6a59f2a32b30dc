// The address literals of RFC 5321 §4.1.3: IPv4 and IPv6 (the four IPv6
// forms, compressed and IPv4-suffixed ones included), parsed into their value
// and written back in one canonical text.
//
// Does not: accept other general literals (Standardized-tag ":" dcontent),
// zone identifiers or prefixes; decide whether a literal may be relayed to.
//
// RFC 5321 §4.1.3 (IPv4-address-literal, IPv6-addr), RFC 5952 §4 (canonical
// IPv6 text).

import type { AddressLiteral } from './types.js';

/**
 * The content between "[" and "]": "a.b.c.d" or "IPv6:…" (tag case-insensitive),
 * with its canonical address; null for anything else.
 */
export function parseAddressLiteral(content: string): AddressLiteral | null {
  const first = content.charCodeAt(0);
  if (first >= 0x30 && first <= 0x39) {
    const v4 = parseIPv4(content);
    return v4 < 0 ? null : { family: 4, address: formatIPv4(v4) };
  }
  if (content.length > 5 && content.slice(0, 5).toLowerCase() === 'ipv6:') {
    const groups = parseIPv6(content.slice(5));
    return groups === null ? null : { family: 6, address: formatIPv6(groups) };
  }
  return null;
}

/** IPv4-address-literal = Snum 3("." Snum), Snum = 1*3DIGIT in 0-255: the value, or -1. */
function parseIPv4(t: string): number {
  let value = 0;
  let parts = 0;
  let i = 0;
  for (;;) {
    let digits = 0;
    let n = 0;
    for (;;) {
      const c = t.charCodeAt(i);
      if (!(c >= 0x30 && c <= 0x39)) break;
      n = n * 10 + (c - 0x30);
      digits += 1;
      i += 1;
    }
    if (digits === 0 || digits > 3 || n > 255) return -1;
    value = value * 256 + n;
    parts += 1;
    if (parts === 4) return i === t.length ? value : -1;
    if (t.charCodeAt(i) !== 0x2e) return -1; // "."
    i += 1;
  }
}

function formatIPv4(v: number): string {
  return `${Math.floor(v / 0x1000000)}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/**
 * RFC 5321 §4.1.3 IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp:
 * the eight 16-bit groups, or null. "::" stands for at least two zero groups,
 * so at most six groups (an IPv4 tail counting two) may be written beside it.
 */
function parseIPv6(t: string): number[] | null {
  const dbl = t.indexOf('::');
  if (dbl >= 0 && t.indexOf('::', dbl + 1) >= 0) return null;
  const head = dbl < 0 ? t : t.slice(0, dbl);
  const tail = dbl < 0 ? '' : t.slice(dbl + 2);
  const left = groupsOf(head, dbl < 0);
  const right = groupsOf(tail, true);
  if (left === null || right === null) return null;
  const explicit = left.length + right.length;
  if (dbl < 0) return explicit === 8 ? left : null;
  if (explicit > 6) return null;
  return [...left, ...new Array<number>(8 - explicit).fill(0), ...right];
}

/** "h:h:…[:a.b.c.d]" as 16-bit groups (an IPv4 tail only when `v4Last`), or null. */
function groupsOf(part: string, v4Last: boolean): number[] | null {
  if (part === '') return [];
  const pieces = part.split(':');
  const groups: number[] = [];
  for (let k = 0; k < pieces.length; k++) {
    const p = pieces[k]!;
    if (HEX_GROUP.test(p)) {
      groups.push(parseInt(p, 16));
    } else if (v4Last && k === pieces.length - 1 && p.includes('.')) {
      const v4 = parseIPv4(p);
      if (v4 < 0) return null;
      groups.push(v4 >>> 16, v4 & 0xffff);
    } else {
      return null;
    }
  }
  return groups;
}

/**
 * RFC 5952 §4: lower-case hex without leading zeros, the longest run of two or
 * more zero groups (the first of equals) as "::". An embedded IPv4 address is
 * written in hex too (not the mixed notation §5 recommends): hex is never
 * longer, so the canonical path never outgrows the limits the written one met.
 */
function formatIPv6(g: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8;) {
    if (g[k] !== 0) {
      k += 1;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e += 1;
    if (e - k > bestLen) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  const hex = (from: number, to: number) =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}
