// The `deliveries` job: one message to one next hop, for at most
// routing.maxRecipientsPerDelivery of its recipients (RFC 5321 §2.3.5 "one copy
// of the data for all the recipients at the same destination host"). Routing
// writes it; egress replays it and records each recipient's outcome in it.
// Plain, versioned, JSON-safe data at rest, like TransactionJobV1: add fields
// only as optional; anything else is a v: 2 that egress learns to read first.
//
// A job routed to `hold` (or held by an operator) is the same record in the
// `held` queue, which no worker reads: the admin API's release routes it again
// and moves it to `deliveries`.
//
// Per message, beside the body (<prefix>:body:<id>):
//   <prefix>:refs:<id>    how many jobs still need the body: deliveries and
//                         held jobs not yet final, plus routing retries. The
//                         body and this counter are deleted together when it
//                         reaches 0 (adjustRefs, message-refs.ts).
//   <prefix>:routed:<id>  routing's record of its plan for a transaction job,
//                         so that a transaction routed twice (a routing process
//                         died after committing) gets exactly one set of
//                         deliveries (routing-plan.ts in apps/routing).
//
// Does not: hold the body, or say how egress records attempts (egress adds
// optional fields).

import type { MailParameters, Path, TransactionVerb } from '@petrel/smtp';
import type { JobsOptions } from 'bullmq';
import { UNLIMITED } from './worker-options.js';

export type DeliveryRecipientState = 'pending' | 'delivered' | 'deferred' | 'bounced';

/** A reply recorded for a recipient: the next hop's, or one Petrel made up (synthetic). */
export interface DeliveryReply {
  readonly code: number;
  readonly enhanced: string | null;
  readonly text: string;
  readonly synthetic: boolean;
  /** The next hop that gave it, "host[address]:port", or null (no connection). */
  readonly host: string | null;
  /** ISO 8601. */
  readonly at: string;
}

export interface DeliveryRecipient {
  /**
   * What egress sends in RCPT TO, between the angle brackets: the mailbox,
   * or with an honoured source route "@b,@c:user@d".
   */
  readonly forwardPath: string;
  /** The recipient as the client gave it (Path.raw), for the DSN's Original-Recipient. */
  readonly original: string;
  /** The list address that expanded to this recipient, if any. */
  readonly expandedFrom?: string;
  readonly state: DeliveryRecipientState;
  /** Egress: the last reply for this recipient. */
  readonly lastReply?: DeliveryReply;
}

export interface DeliveryHop {
  /** Host name (lower case, no trailing dot) or IP address. */
  readonly host: string;
  readonly preference: number;
  readonly port: number;
}

export interface DeliveryJobV1 {
  readonly v: 1;
  /** `<messageId>.<n>`, n from 1; also the BullMQ job id. */
  readonly id: string;
  readonly messageId: string;
  /** ISO 8601: when ingress received the message (the queue lifetime counts from it). */
  readonly receivedAt: string;
  /** ISO 8601: when routing made this job. */
  readonly routedAt: string;
  readonly verb: TransactionVerb;
  readonly reversePath: Path;
  readonly parameters: MailParameters;
  readonly size: number;
  readonly bodyKey: string;
  /** 'dsn' when the message is a bounce Petrel made (never bounce a bounce). */
  readonly origin: 'smtp' | 'dsn';
  readonly route: {
    /** The domain (or transport host) the next hops were resolved for. */
    readonly domain: string;
    /** Tried in order: MX preference, random order among equals. */
    readonly hops: readonly DeliveryHop[];
    readonly source: 'transport-map' | 'mx' | 'implicit-mx' | 'literal';
    /** The transport map key that matched, or null. */
    readonly transport: string | null;
    /** null: egress.tls applies. */
    readonly tls: 'none' | 'opportunistic' | 'required' | null;
    /** A key of egress.credentials, or null. */
    readonly auth: string | null;
  };
  readonly recipients: readonly DeliveryRecipient[];
  /** Egress: delivery attempts made so far. */
  readonly attempts?: number;
  /** Egress: ISO 8601 of the next attempt, while recipients are deferred. */
  readonly nextAttemptAt?: string;
  /**
   * ISO 8601: when the queue lifetime starts, if not at receivedAt: an
   * operator released the delivery from hold (held mail never expires).
   */
  readonly lifetimeFrom?: string;
}

/** The BullMQ job name of a DeliveryJobV1. */
export const DELIVERY_JOB_NAME = 'delivery';

/**
 * BullMQ never fails a delivery by itself (attempts effectively unlimited;
 * egress's workers also raise maxStalledCount): only egress decides, per
 * recipient, what is final. Exactly one set of deliveries per transaction is
 * routing's guarantee (the routed key), not the job id's.
 */
export const DELIVERY_JOB_OPTIONS: JobsOptions = {
  attempts: UNLIMITED,
  backoff: { type: 'fixed', delay: 5_000, jitter: 0.5 },
  removeOnComplete: true,
  removeOnFail: false,
};

export function deliveryJobId(messageId: string, n: number): string {
  return `${messageId}.${n}`;
}

/** How many jobs still need a message's body. */
export function refsKey(prefix: string, messageId: string): string {
  return `${prefix}:refs:${messageId}`;
}

/** Routing's plan record of a transaction job (its BullMQ id). */
export function routedKey(prefix: string, transactionJobId: string): string {
  return `${prefix}:routed:${transactionJobId}`;
}
