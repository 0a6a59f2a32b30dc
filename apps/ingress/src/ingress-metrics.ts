// Ingress's Prometheus metrics (prefix petrel_). Labels stay low-cardinality:
// listener, verb, reply code, reason. Never addresses or message ids.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface IngressMetrics {
  readonly sessionsActive: Gauge<'listener'>;
  readonly sessionsTotal: Counter<'listener'>;
  readonly replies: Counter<'verb' | 'code'>;
  readonly messagesAccepted: Counter;
  readonly bytesAccepted: Counter;
  readonly storeSeconds: Histogram;
  readonly rejects: Counter<'reason'>;
  readonly resolveChecks: Counter<'outcome'>;
  readonly tlsSessions: Counter<'listener'>;
  readonly authAttempts: Counter<'outcome'>;
  readonly singleClientAddress: Gauge;
  /** petrel_ingress_certificate_expiry_timestamp_seconds: set at each (re)load; null removes it. */
  readonly certificateExpiry: { set(notAfter: Date | null): void };
}

export function createIngressMetrics(registry: Registry): IngressMetrics {
  const registers = [registry];
  return {
    sessionsActive: new Gauge({
      name: 'petrel_ingress_sessions_active',
      help: 'SMTP sessions open now.',
      labelNames: ['listener'],
      registers,
    }),
    sessionsTotal: new Counter({
      name: 'petrel_ingress_sessions_total',
      help: 'SMTP sessions opened (after the PROXY header, if any).',
      labelNames: ['listener'],
      registers,
    }),
    replies: new Counter({
      name: 'petrel_ingress_replies_total',
      help: 'Replies sent, by the command they answered (none: greeting, unrecognised line) and reply code.',
      labelNames: ['verb', 'code'],
      registers,
    }),
    messagesAccepted: new Counter({
      name: 'petrel_ingress_messages_accepted_total',
      help: 'Messages stored and acknowledged with 250.',
      registers,
    }),
    bytesAccepted: new Counter({
      name: 'petrel_ingress_bytes_accepted_total',
      help: 'Octets of the messages acknowledged with 250, Received header included.',
      registers,
    }),
    storeSeconds: new Histogram({
      name: 'petrel_ingress_store_seconds',
      help: 'Time from the end of DATA to the durable store of body and transaction (the 250 waits for it).',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    resolveChecks: new Counter({
      name: 'petrel_ingress_resolve_checks_total',
      help: 'RCPT-time questions to routing (ingress.resolve), by outcome: refused (a permanent refusal became the RCPT reply), accepted, unavailable (no answer in time or an error: accepted).',
      labelNames: ['outcome'],
      registers,
    }),
    rejects: new Counter({
      name: 'petrel_ingress_rejects_total',
      help: 'Refusals decided by ingress policy, by reason (relay-denied, unroutable, rate-limit, connection-limit, storage, hop-limit, auth-failed, watermark, proxy).',
      labelNames: ['reason'],
      registers,
    }),
    tlsSessions: new Counter({
      name: 'petrel_ingress_tls_sessions_total',
      help: 'Sessions upgraded with STARTTLS.',
      labelNames: ['listener'],
      registers,
    }),
    authAttempts: new Counter({
      name: 'petrel_ingress_auth_attempts_total',
      help: 'SMTP AUTH attempts by outcome (success, failure, blocked).',
      labelNames: ['outcome'],
      registers,
    }),
    singleClientAddress: new Gauge({
      name: 'petrel_ingress_single_client_address',
      help: '1 when PROXY is off and the last 100 sessions all came from one address (source NAT hides the clients: every client looks alike to relay permission).',
      registers,
    }),
    certificateExpiry: certificateExpiry(registry),
  };
}

/**
 * A gauge that is in the registry only while a certificate is loaded: without
 * ingress.tls there is no sample at all, rather than a 0 that reads as "expired
 * in 1970" to an alert on the time left.
 */
function certificateExpiry(registry: Registry): IngressMetrics['certificateExpiry'] {
  const name = 'petrel_ingress_certificate_expiry_timestamp_seconds';
  const gauge = new Gauge({
    name,
    help: "Unix time at which the ingress TLS certificate's notAfter falls; updated whenever the certificate is (re)loaded; absent when ingress.tls is not set.",
    registers: [],
  });
  return {
    set(notAfter) {
      const registered = registry.getSingleMetric(name) !== undefined;
      if (notAfter === null) {
        if (registered) registry.removeSingleMetric(name);
        return;
      }
      gauge.set(Math.floor(notAfter.getTime() / 1000));
      if (!registered) registry.registerMetric(gauge);
    },
  };
}
