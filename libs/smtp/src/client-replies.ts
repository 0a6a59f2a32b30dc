// The replies the sender-SMTP machine makes up when no reply of the next hop
// applies, each with its RFC anchor. Outputs carrying one are flagged
// `synthetic: true`.
//
// Asymmetric by design: a lost connection, a protocol violation, a missing TLS
// or a refused AUTH setup is our side's or the path's trouble, so 4yz (retry);
// only a message the next hop declared it cannot take (SIZE, SMTPUTF8) is 5yz.

import { customReply, type Reply } from './replies.js';

export const clientReplies = {
  /** RFC 5321 §3.8, RFC 3463 §3.5 (4.4.2 bad connection): closed or timed out before the reply. */
  connectionLost: (): Reply =>
    customReply(421, '4.4.2', 'Connection to the next hop lost before its reply'),
  /** RFC 3463 §3.6 (4.5.0 other protocol status): unparseable or unexpected reply. */
  protocolViolation: (detail: string): Reply =>
    customReply(451, '4.5.0', `Next hop protocol violation: ${detail}`),
  /** RFC 3207 §4.1, RFC 3463 §3.8 (4.7.4 security features not supported). */
  tlsRequired: (detail: string): Reply =>
    customReply(451, '4.7.4', `TLS is required, but ${detail}`),
  /** RFC 4954 §4, RFC 3463 §3.8 (4.7.0 other security status). */
  authUnavailable: (detail: string): Reply =>
    customReply(451, '4.7.0', `Authentication is configured, but ${detail}`),
  /** RFC 1870 §6.1, RFC 3463 §3.4 (5.3.4 message too big for system). */
  messageTooBig: (size: number, max: number): Reply =>
    customReply(
      552,
      '5.3.4',
      `Message size ${size} exceeds the next hop's fixed maximum of ${max} octets`,
    ),
  /** RFC 6531 §3.2, RFC 3463/6533 (5.6.7 non-ASCII addresses not permitted). */
  smtputf8Required: (): Reply =>
    customReply(553, '5.6.7', 'Message requires SMTPUTF8, which the next hop does not offer'),
} as const;

/** The one-line form of a next hop's reply, controls blanked and clipped, for the text of a synthetic one. */
export function describeReply(reply: Reply): string {
  const enhanced = reply.enhanced === undefined ? '' : ` ${reply.enhanced}`;
  const text = `${reply.code}${enhanced} ${reply.lines.join(' ')}`
    .replace(/\p{Cc}/gu, ' ')
    .trimEnd();
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
