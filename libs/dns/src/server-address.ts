// Where a query goes: "192.0.2.53", "192.0.2.53:5353", "2001:db8::53" or
// "[2001:db8::53]:5353" (the forms node:dns getServers() returns and
// routing.dns.servers accepts) parsed into host, port and family. Port 53
// when none is given (RFC 1035 §4.2).
//
// Does not: resolve host names; a server is an IP address.

import { getServers } from 'node:dns';
import { isIP } from 'node:net';

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** For messages: "192.0.2.53:53", "[2001:db8::53]:53". */
  readonly label: string;
}

const DNS_PORT = 53;

export function parseServer(text: string): ServerAddress {
  const bare = isIP(text);
  if (bare !== 0) return address(text, DNS_PORT, bare === 4 ? 4 : 6);
  const match = /^(?:\[([^\]]+)\]|([\d.]+))(?::(\d{1,5}))?$/.exec(text);
  const host = match?.[1] ?? match?.[2] ?? '';
  const family = isIP(host);
  const port = match?.[3] === undefined ? DNS_PORT : Number(match[3]);
  const bracketsFit = (match?.[1] !== undefined) === (family === 6);
  if (family === 0 || !bracketsFit || port < 1 || port > 65535) {
    throw new TypeError(
      `DnsResolver: a server is an IP address with an optional port ("192.0.2.53:53", "[2001:db8::53]:53"), got "${text}"`,
    );
  }
  return address(host, port, family === 4 ? 4 : 6);
}

/** The servers this host is configured with (resolv.conf), as node:dns reports them. */
export function systemServers(): string[] {
  return getServers();
}

function address(host: string, port: number, family: 4 | 6): ServerAddress {
  const label = family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, family, label };
}
