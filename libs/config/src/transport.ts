// The transport map's values (routing.transports), parsed once at load so that
// a typo is a configuration error naming its key, not a bounce at 3 a.m.
//
//   smtp:host[:port]          the MX records of host (Postfix's smtp:host)
//   smtp:[host][:port]        host's own address, no MX look-up
//   smtp:[192.0.2.1][:port]   that address; IPv6 as [2001:db8::1] or [ipv6:2001:db8::1]
//   mx                        the recipient domain's MX records (the default)
//   reject[:code [x.y.z] text]  refuse: 5yz bounces, 4yz defers until the
//                             queue lifetime ends (default 550 5.7.1)
//   hold                      keep until an operator releases it
//
// An entry is that string, or a mapping { nexthop, tls, auth } that adds a TLS
// policy (none | opportunistic | required) and the name of egress.credentials
// to AUTH with; both only for smtp: next hops.
//
// Does not: resolve anything (routing does), or check that auth names exist
// (cross-checks.ts).

import { isIP } from 'node:net';
import { parseHostname } from './domain-name.js';

export type TlsPolicy = 'none' | 'opportunistic' | 'required';

export type TransportAction =
  /** mx: look up MX records for host (smtp:host); otherwise connect to host itself. */
  | { readonly kind: 'smtp'; readonly host: string; readonly port: number; readonly mx: boolean }
  | { readonly kind: 'mx' }
  | {
      readonly kind: 'reject';
      readonly code: number;
      readonly enhanced: string;
      readonly text: string;
    }
  | { readonly kind: 'hold' };

export interface Transport {
  readonly action: TransportAction;
  /** null: egress.tls applies. */
  readonly tls: TlsPolicy | null;
  /** A key of egress.credentials, or null. */
  readonly auth: string | null;
  /** The next hop as written, for logs and Resolve answers. */
  readonly spec: string;
}

export type ParsedTransport = { ok: true; value: Transport } | { ok: false; expected: string };

const SMTP_PORT = 25;
const EXPECTED =
  'a transport: smtp:host[:port], smtp:[host][:port], smtp:[192.0.2.1][:port], mx, ' +
  'reject[:550 5.7.1 text] or hold';
const TLS_POLICIES: readonly TlsPolicy[] = ['none', 'opportunistic', 'required'];
const ENTRY_KEYS = ['nexthop', 'tls', 'auth'];

/** A transport map value: a string, or { nexthop, tls?, auth? }. */
export function parseTransport(input: unknown): ParsedTransport {
  if (typeof input === 'string') return parseNextHop(input, null, null);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, expected: `${EXPECTED}, or a mapping { nexthop, tls, auth }` };
  }
  const entry = input as Record<string, unknown>;
  const unknown = Object.keys(entry).filter((key) => !ENTRY_KEYS.includes(key));
  if (unknown.length > 0) {
    return {
      ok: false,
      expected: `a mapping of nexthop, tls and auth (not ${unknown.map((k) => `"${k}"`).join(', ')})`,
    };
  }
  const tls = entry['tls'] ?? null;
  if (tls !== null && !TLS_POLICIES.includes(tls as TlsPolicy)) {
    return { ok: false, expected: `tls: one of ${TLS_POLICIES.join(', ')}` };
  }
  const auth = entry['auth'] ?? null;
  if (auth !== null && (typeof auth !== 'string' || auth === '')) {
    return { ok: false, expected: 'auth: the name of an entry of egress.credentials' };
  }
  if (typeof entry['nexthop'] !== 'string') {
    return { ok: false, expected: `nexthop: ${EXPECTED}` };
  }
  return parseNextHop(entry['nexthop'], tls as TlsPolicy | null, auth);
}

function parseNextHop(spec: string, tls: TlsPolicy | null, auth: string | null): ParsedTransport {
  const text = spec.trim();
  const fail = (expected = EXPECTED): ParsedTransport => ({ ok: false, expected });
  if (text === 'mx' || text === 'hold') {
    if (tls !== null || auth !== null) return fail(`tls and auth apply to smtp: next hops only`);
    return { ok: true, value: { action: { kind: text }, tls, auth, spec: text } };
  }
  if (text === 'reject' || text.startsWith('reject:')) {
    if (tls !== null || auth !== null) return fail(`tls and auth apply to smtp: next hops only`);
    const reject = parseReject(text.slice('reject:'.length));
    return reject === null
      ? fail('reject:<4yz or 5yz code> [x.y.z] [text], e.g. "reject:550 5.7.1 Relay denied"')
      : { ok: true, value: { action: reject, tls, auth, spec: text } };
  }
  if (!text.startsWith('smtp:')) return fail();
  const hop = parseHost(text.slice('smtp:'.length));
  if (typeof hop === 'string') return fail(hop);
  return { ok: true, value: { action: { kind: 'smtp', ...hop }, tls, auth, spec: text } };
}

function parseHost(rest: string): { host: string; port: number; mx: boolean } | string {
  let host: string;
  let portText: string | undefined;
  let bracketed = false;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return 'smtp:[host]:port with a closing bracket';
    host = rest.slice(1, close);
    if (/^ipv6:/i.test(host)) host = host.slice(5);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return 'smtp:[host]:port';
    portText = after === '' ? undefined : after.slice(1);
    bracketed = true;
  } else {
    const colon = rest.lastIndexOf(':');
    host = colon < 0 ? rest : rest.slice(0, colon);
    portText = colon < 0 ? undefined : rest.slice(colon + 1);
    if (isIP(host) !== 0 || host.includes(':')) {
      return `an address in brackets, as in smtp:[${host}]:25 (there is no MX look-up for an address)`;
    }
  }
  const port = portText === undefined ? SMTP_PORT : Number(portText);
  if (!/^\d{1,5}$/.test(portText ?? '25') || port < 1 || port > 65535) {
    return 'a port from 1 to 65535 after the host';
  }
  if (isIP(host) !== 0) return { host: host.toLowerCase(), port, mx: false };
  const name = parseHostname(host);
  if (!name.ok) return `a host name or an address (${name.expected})`;
  return { host: name.value, port, mx: !bracketed };
}

function parseReject(
  rest: string,
): { kind: 'reject'; code: number; enhanced: string; text: string } | null {
  const match = /^\s*(?:([45]\d\d)(?:\s+([45]\.\d{1,3}\.\d{1,3}))?(?:\s+(.*))?)?$/.exec(rest);
  if (match === null) return null;
  const code = match[1] === undefined ? 550 : Number(match[1]);
  const klass = String(code)[0];
  const enhanced = match[2] ?? (klass === '5' ? '5.7.1' : '4.7.1');
  if (enhanced[0] !== klass) return null;
  const text = match[3]?.trim() || 'Recipient address rejected by the transport map';
  if (/[\r\n\0]/.test(text)) return null;
  return { kind: 'reject', code, enhanced, text };
}
