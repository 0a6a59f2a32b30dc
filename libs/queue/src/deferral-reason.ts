// Why a recipient is deferred, as one of five classes, for metrics and
// dashboards (bounded label values), from the reply recorded for it:
//   dns       routing could not resolve the domain (4.4.3), or egress its
//             next hop's address (4.4.4)
//   connect   no connection, or the connection was lost (4.4.1, 4.4.2)
//   tls       STARTTLS or the certificate failed (4.7.5, synthetic)
//   throttle  the next hop or our limit said "not now": 421 from the next
//             hop, 4.7.0/4.7.28 rate limits, 4.4.5 congestion / our
//             connection limit
//   4yz       any other 4yz reply of the next hop
// And the destination label: one of metrics.destinations, or "other".
//
// Does not: decide that a recipient is deferred (egress does).

export const DEFERRAL_REASONS = ['dns', 'connect', 'tls', 'throttle', '4yz'] as const;
export type DeferralReason = (typeof DEFERRAL_REASONS)[number];

export function deferralReason(reply: {
  readonly code: number;
  readonly enhanced: string | null;
  readonly synthetic: boolean;
}): DeferralReason {
  const enhanced = reply.enhanced ?? '';
  if (enhanced === '4.4.3' || enhanced === '4.4.4') return 'dns';
  if (reply.synthetic && (enhanced === '4.4.1' || enhanced === '4.4.2')) return 'connect';
  if (reply.synthetic && enhanced === '4.7.5') return 'tls';
  if (enhanced === '4.4.5' || enhanced === '4.7.28' || enhanced === '4.7.0') return 'throttle';
  if (!reply.synthetic && reply.code === 421) return 'throttle';
  if (reply.synthetic && enhanced.startsWith('4.4.')) return 'connect';
  return '4yz';
}

/** The `destination` label of a domain: itself when listed, else "other". */
export function destinationLabel(domain: string, destinations: ReadonlySet<string>): string {
  const lower = domain.toLowerCase();
  return destinations.has(lower) ? lower : 'other';
}
