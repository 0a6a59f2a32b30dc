// A delivery status notification (RFC 3464) as a new transaction: the same
// path for every service that bounces (routing for recipients it cannot
// route, egress for 5yz replies and expiry). The DSN goes from the null
// reverse-path <> to the original reverse-path, and is routed and delivered
// like any message. The caller writes the returned body and job in its own
// MULTI (queueTransaction), so that the bounce exists exactly when the
// recipients it reports are recorded as final.
//
// Never a DSN about a message whose reverse-path is null (RFC 5321 §4.5.5,
// RFC 3464 §2): makeBounce returns null, and the caller logs the loss of the
// report.
//
// Does not: choose which recipients bounce, or retry anything.

import { buildDsn, DsnError, type Dsn, type DsnInput, type DsnRecipient } from '@petrel/dsn';
import { formatMailbox, type Path } from '@petrel/smtp';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import { Job } from 'bullmq';
import { TRANSACTION_JOB_OPTIONS } from './transaction-store.js';
import {
  bodyKey,
  newMessageId,
  TRANSACTION_JOB_NAME,
  type TransactionJobV1,
} from './transaction-job.js';

export interface BounceInput {
  /** The id for the DSN itself (newMessageId()). */
  readonly id: string;
  readonly prefix: string;
  /** The reporting MTA: ingress.hostname. */
  readonly hostname: string;
  /** Which process made it ("routing:<pod>"), for the job record. */
  readonly instance: string;
  readonly now: Date;
  readonly original: {
    readonly id: string;
    readonly receivedAt: string;
    readonly reversePath: Path;
    /** 'dsn' when the original is itself a bounce. */
    readonly origin?: 'smtp' | 'dsn';
  };
  readonly recipients: readonly DsnRecipient[];
  /** The original message's header section (or more: the DSN keeps the headers). */
  readonly headers: Uint8Array;
}

export interface Bounce {
  readonly job: TransactionJobV1;
  readonly body: Buffer;
}

/** The DSN transaction, or null when the original's reverse-path is null. */
export function makeBounce(input: BounceInput): Bounce | null {
  const sender = input.original.reversePath.mailbox;
  if (sender === null || input.original.origin === 'dsn') return null;
  const to = formatMailbox(sender);
  const dsn = buildWithFreeBoundary({
    reportingMta: input.hostname,
    queueId: input.original.id,
    arrivalDate: new Date(input.original.receivedAt),
    date: input.now,
    messageId: `${input.id}@${input.hostname}`,
    boundary: `${input.id}/${input.hostname}`,
    to,
    recipients: input.recipients,
    original: input.headers,
  });
  const job: TransactionJobV1 = {
    v: 1,
    id: input.id,
    receivedAt: input.now.toISOString(),
    client: {
      address: '127.0.0.1',
      port: 0,
      helo: null,
      tls: null,
      auth: null,
      proxied: false,
      trusted: true,
    },
    ingress: { hostname: input.hostname, instance: input.instance },
    verb: 'MAIL',
    reversePath: { route: [], mailbox: null, raw: '' },
    // UTF-8 inside the report's parts needs only 8BITMIME; SMTPUTF8 only when
    // the envelope itself (the recipient) is non-ASCII (RFC 6531 §3.4, RFC 6533).
    parameters: {
      ...(dsn.eightBit ? { body: '8BITMIME' as const } : {}),
      ...(sender.utf8 ? { smtputf8: true as const } : {}),
    },
    recipients: [{ forwardPath: { route: [], mailbox: sender, raw: to }, parameters: {} }],
    size: dsn.bytes.length,
    bodyKey: bodyKey(input.prefix, input.id),
    origin: 'dsn',
  };
  return { job, body: dsn.bytes };
}

/**
 * The boundary is made of ids, so that the DSN is the same bytes every time;
 * should the original's headers contain it, a numbered one is tried instead.
 */
function buildWithFreeBoundary(input: DsnInput): Dsn {
  for (let n = 0; ; n++) {
    try {
      return buildDsn(n === 0 ? input : { ...input, boundary: `${input.boundary}=${n}` });
    } catch (err) {
      if (!(err instanceof DsnError && err.code === 'boundary-collision') || n >= 8) throw err;
    }
  }
}

/**
 * Queues a transaction (its body, then its job) in a MULTI made from the
 * queue's own connection (`await queue.client`), which has BullMQ's scripts.
 */
export async function queueTransaction(
  multi: ChainableCommander,
  queue: Queue,
  transaction: { job: TransactionJobV1; body?: Buffer },
  options: { jobId?: string; delay?: number } = {},
): Promise<void> {
  if (transaction.body !== undefined) multi.set(transaction.job.bodyKey, transaction.body);
  const jobId = options.jobId ?? transaction.job.id;
  const job = new Job(
    queue,
    TRANSACTION_JOB_NAME,
    transaction.job,
    {
      ...TRANSACTION_JOB_OPTIONS,
      jobId,
      ...(options.delay !== undefined && options.delay > 0 ? { delay: options.delay } : {}),
    },
    jobId,
  );
  await job.addJob(multi as never);
}

/** The original's header section is at most this long in a DSN. */
const HEADER_BYTES = 128 * 1024;

export interface BounceForInput extends Omit<BounceInput, 'id' | 'headers' | 'recipients'> {
  readonly original: BounceInput['original'] & { readonly bodyKey: string };
  readonly recipients: readonly FailedRecipient[];
}

/**
 * The DSN for these failed recipients, with the original's headers read from
 * its body; null (and nothing read) when there are none, or when the original
 * gets no DSN (null reverse-path, or itself a DSN).
 */
export async function bounceFor(redis: Redis, input: BounceForInput): Promise<Bounce | null> {
  const { original } = input;
  if (input.recipients.length === 0) return null;
  if (original.reversePath.mailbox === null || original.origin === 'dsn') return null;
  return makeBounce({
    ...input,
    id: newMessageId(input.now.getTime()),
    recipients: input.recipients.map(failedRecipient),
    headers: await readHeaders(redis, original.bodyKey),
  });
}

/** The header section of a stored body (through its blank line), for a DSN. */
export async function readHeaders(redis: Redis, bodyKey: string): Promise<Buffer> {
  const head = await redis.getrangeBuffer(bodyKey, 0, HEADER_BYTES - 1);
  const end = head.indexOf('\r\n\r\n');
  return end < 0 ? head : head.subarray(0, end + 4);
}

/** A recipient that failed, as a DSN reports it. */
export interface FailedRecipient {
  /** As sent: the mailbox, or with an honoured source route "@b:user@c". */
  readonly forwardPath: string;
  /** As the client gave it. */
  readonly original: string;
  readonly reply: {
    readonly code: number;
    readonly enhanced: string | null;
    readonly text: string;
    /** Petrel's own reply (x-petrel), not a remote MTA's (smtp). */
    readonly synthetic: boolean;
    /** The remote MTA, "name[address]:port", when it gave the reply. */
    readonly host?: string | null;
  };
  readonly at: Date;
}

export function failedRecipient(failure: FailedRecipient): DsnRecipient {
  const { forwardPath, original, reply } = failure;
  const finalRecipient = forwardPath.startsWith('@')
    ? forwardPath.slice(forwardPath.lastIndexOf(':') + 1)
    : forwardPath;
  const enhanced = reply.enhanced ?? `${Math.floor(reply.code / 100)}.0.0`;
  const remote = reply.synthetic ? null : (reply.host ?? null);
  return {
    finalRecipient,
    ...(original !== finalRecipient ? { originalRecipient: original } : {}),
    action: 'failed',
    status: enhanced,
    diagnostic: {
      type: reply.synthetic ? 'x-petrel' : 'smtp',
      text: `${reply.code}${reply.enhanced === null ? '' : ` ${reply.enhanced}`} ${reply.text}`,
    },
    ...(remote === null ? {} : { remoteMta: remote.replace(/\[.*$/, '') }),
    lastAttemptDate: failure.at,
  };
}
