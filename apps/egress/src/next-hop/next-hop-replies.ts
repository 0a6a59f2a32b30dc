// The replies a next-hop connection makes up when the network, not the next
// hop, decided: every one is flagged `synthetic` where it is used, every one
// is 4yz (our side's or the path's trouble is retried, never bounced), and
// each names the next hop as host[address]:port, as Postfix's do.
//
// Does not: decide what a reply means for delivery (the egress failure
// classifier does).

import { customReply, type Reply } from '@petrel/smtp';

export interface TargetName {
  readonly host: string;
  readonly address: string;
  readonly port: number;
}

export const nextHopReplies = {
  /**
   * RFC 3463 §3.5 X.4.1 "No answer from host": refused, unreachable or timed
   * out before the TCP connection was made; 421 as RFC 5321 §3.8.
   */
  connectFailed: (target: TargetName, cause: string): Reply =>
    customReply(421, '4.4.1', `connection to ${describeTarget(target)} failed: ${clean(cause)}`),
  /**
   * RFC 3463 §3.5 X.4.2 "Bad connection": established, then closed, reset or
   * timed out before the reply awaited (the dialog's generic connection-lost
   * reply, with the cause).
   */
  connectionLost: (target: TargetName, cause: string): Reply =>
    customReply(
      421,
      '4.4.2',
      `connection to ${describeTarget(target)} lost before its reply: ${clean(cause)}`,
    ),
  /**
   * RFC 3463 §3.8 X.7.5 "Cryptographic failure" (Postfix's code for an
   * untrusted or unverified server certificate): the TLS handshake after
   * STARTTLS failed, or the certificate did not verify when TLS is required.
   * The connection is closed; with opportunistic TLS a later attempt may go
   * without it.
   */
  tlsFailed: (target: TargetName, cause: string): Reply =>
    customReply(451, '4.7.5', `TLS with ${describeTarget(target)} failed: ${clean(cause)}`),
} as const;

/** "mx.example.test[192.0.2.1]:25". */
export function describeTarget(target: TargetName): string {
  return `${target.host}[${target.address}]:${target.port}`;
}

/** One line of printable text: controls blanked, clipped. */
function clean(text: string): string {
  const line = text.replace(/\p{Cc}/gu, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}
