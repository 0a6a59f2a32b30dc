// The `transactions` job: one accepted SMTP transaction, as plain, versioned,
// JSON-safe data. It is data at rest that must survive a deploy: add fields
// only as optional, and make any other change a new version (v: 2) that
// routing learns to read before ingress starts to write it.
//
// The body is not in the job: it is stored once under bodyKey (a Redis
// string of the exact octets received after DATA, dot-unstuffed, with the
// Received: header ingress prepended) and referenced by every job that needs
// it. It is deleted when the last recipient reaches a final state.
//
// Contract (SAFETY.md): no string anywhere in the envelope holds CR, LF or
// NUL, because egress replays these fields into a next hop's command lines;
// assertSafeEnvelope() is the store's last check of that.
//
// Does not: parse or validate paths and parameters (libs/smtp did).

import { randomFillSync } from 'node:crypto';
import type { MailParameters, Path, Recipient, TransactionVerb } from '@petrel/smtp';
import { monotonicFactory } from 'ulid';

export interface TransactionJobV1 {
  readonly v: 1;
  /** ULID; also the BullMQ job id and the queue id in the 250 reply. */
  readonly id: string;
  /** ISO 8601: when the end of DATA was received. */
  readonly receivedAt: string;
  readonly client: {
    readonly address: string;
    readonly port: number;
    readonly helo: { readonly verb: 'HELO' | 'EHLO'; readonly name: string } | null;
    readonly tls: { readonly protocol: string; readonly cipher: string } | null;
    /** The authenticated identity (SMTP AUTH), or null. */
    readonly auth: string | null;
    /** True when the address came from a PROXY protocol header. */
    readonly proxied: boolean;
    /**
     * True when the client was trusted to relay anywhere (a trusted network or
     * SMTP AUTH): routing honours its source routes when so configured.
     * Absent (older jobs) reads as false.
     */
    readonly trusted?: boolean;
  };
  /** 'dsn' for a delivery status notification Petrel made; absent for mail received by SMTP. */
  readonly origin?: 'smtp' | 'dsn';
  /**
   * Set on a job that routes the recipients an earlier routing of message
   * `id` could not route yet (DNS failed): which attempt this is. The job's own
   * BullMQ id is then `<id>.r<attempt>`.
   */
  readonly routingAttempt?: number;
  readonly ingress: { readonly hostname: string; readonly instance: string };
  readonly verb: TransactionVerb;
  readonly reversePath: Path;
  readonly parameters: MailParameters;
  readonly recipients: readonly Recipient[];
  /** Octets of the stored body. */
  readonly size: number;
  /** The Redis key of the body (see bodyKey()). */
  readonly bodyKey: string;
}

/** The BullMQ job name of a TransactionJobV1. */
export const TRANSACTION_JOB_NAME = 'transaction';

// ulid's own generator asks the CSPRNG for one byte per character (16 calls,
// each a getpid() in OpenSSL, per new millisecond): the same bytes, drawn from
// the same CSPRNG 4 KiB at a time, as ulid's generator scales them (byte / 256).
const pool = Buffer.allocUnsafe(4096);
let poolAt = pool.length;
function randomFraction(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++]! / 256;
}

const nextUlid = monotonicFactory(randomFraction);

/**
 * A new message id: a ULID, sortable by time, strictly increasing within
 * this process even for ids made in the same millisecond.
 */
export function newMessageId(now: number = Date.now()): string {
  return nextUlid(now);
}

/**
 * The key of a message body. It starts with the queue prefix, which carries
 * the hash tag (e.g. `{petrel}`), so that it hashes to the same cluster slot
 * as the queue's keys and one connection can write both.
 */
export function bodyKey(prefix: string, id: string): string {
  return `${prefix}:body:${id}`;
}

/** Throws naming the first string field holding CR, LF or NUL. */
export function assertSafeEnvelope(value: unknown, path = 'job'): void {
  const where = unsafePath(value);
  if (where !== null) throw new Error(`${path}${where} contains CR, LF or NUL`);
}

const UNSAFE = /[\r\n\0]/;

/**
 * null when no string in value holds CR, LF or NUL; else the path below value
 * of the first that does ("" for value itself, ".a[1].b"). Paths are built only
 * for a failure: this runs for every message stored.
 */
function unsafePath(value: unknown): string | null {
  if (typeof value === 'string') return UNSAFE.test(value) ? '' : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const below = unsafePath(value[i]);
      if (below !== null) return `[${i}]${below}`;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const below = unsafePath((value as Record<string, unknown>)[key]);
      if (below !== null) return `.${key}${below}`;
    }
  }
  return null;
}
