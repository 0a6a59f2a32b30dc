// One delivery attempt: the pending recipients of one delivery, tried on its
// next hops in order (MX preference, then the next host; each host's
// addresses in the order DNS gave them), the failure policy in one place (as
// Postfix's smtp_trouble.c keeps it):
//   2yz                                 delivered
//   5yz to RCPT, DATA or the end of DATA bounced
//   4yz to RCPT, DATA or the end of DATA deferred: retried later, not on the
//                                       next host (this one answered)
//   no connection, no greeting, 421, a connection lost or a timeout
//   (RFC 5321 §4.5.3.2), a session refused before MAIL (any code)
//                                       the next host, then deferred; a 5yz
//                                       session refusal from the last host tried
//                                       bounces
// A 4yz or 5yz at MAIL applies to every recipient of the transaction (libs/smtp
// gives each one the reply). The caller records the result and decides between
// a retry, a bounce at expiry and the end.
//
// Does not: touch Redis, retry later, or write a DSN.

import { isAscii } from 'node:buffer';
import { isIP } from 'node:net';
import type { DeliveryJobV1, DeliveryReply } from '@petrel/queue';
import {
  DEFAULT_LIMITS,
  parsePath,
  replyClass,
  type OutboundTransaction,
  type Path,
  type Reply,
} from '@petrel/smtp';
import type { Acquired, Lease } from './connection-cache.js';
import type { NextHopOptions } from './next-hop/index.js';

export type Verdict = 'delivered' | 'bounced' | 'deferred';

export interface RecipientResult {
  /** Index in the delivery's recipients. */
  readonly index: number;
  readonly verdict: Verdict;
  readonly reply: DeliveryReply;
}

export type AddressAnswer =
  | { readonly ok: true; readonly addresses: readonly string[] }
  | { readonly ok: false; readonly reply: Reply };

/** Every destination this attempt needed was at its connection limit: try again shortly. */
export class DestinationBusy extends Error {
  constructor(readonly destination: string) {
    super(`${destination} has as many connections as egress.connectionsPerDestination allows`);
  }
}

export interface AttemptDependencies {
  /** A next hop's addresses, in the order to try them. */
  addresses(host: string): Promise<AddressAnswer>;
  /** Connections (connection-cache.ts): a kept one, a new one, or none free. */
  readonly connections: {
    acquire(options: NextHopOptions): Promise<Acquired>;
    release(lease: Lease): Promise<void>;
  };
  /** Everything of NextHopOptions but the target. */
  readonly session: Omit<NextHopOptions, 'target'>;
  readonly now: () => Date;
}

/** At most this many addresses of one host are tried in one attempt. */
const ADDRESSES_PER_HOST = 2;

export async function attemptDelivery(
  job: DeliveryJobV1,
  body: Buffer,
  deps: AttemptDependencies,
): Promise<RecipientResult[]> {
  let pending = job.recipients.flatMap((r, index) =>
    r.state === 'pending' || r.state === 'deferred'
      ? [{ index, path: forwardPath(r.forwardPath) }]
      : [],
  );
  const results: RecipientResult[] = [];
  // The last session-level failure, for the recipients no host took.
  let last: DeliveryReply = made(deps, 451, '4.4.0', 'No next hop was tried', null);
  // True while every destination tried so far was at its connection limit.
  let busyOnly = true;
  hops: for (const hop of job.route.hops) {
    const answer = await deps.addresses(hop.host);
    if (!answer.ok) {
      last = recorded(deps, answer.reply, true, null);
      continue;
    }
    for (const address of answer.addresses.slice(0, ADDRESSES_PER_HOST)) {
      const where = `${hop.host}[${address}]:${hop.port}`;
      const options = { ...deps.session, target: { host: hop.host, address, port: hop.port } };
      // A kept connection the next hop closed meanwhile: once more on a new one.
      for (let tries = 0; tries < 2; tries++) {
        const acquired = await deps.connections.acquire(options);
        if (acquired.kind === 'busy') {
          if (results.length === 0 && busyOnly) throw new DestinationBusy(where);
          last = made(deps, 451, '4.4.5', `${where}: as many connections as allowed`, where);
          break;
        }
        busyOnly = false;
        if (acquired.kind === 'failed') {
          const failure = acquired.failure;
          last = recorded(
            deps,
            failure.reply,
            failure.synthetic,
            failure.stage === 'connect' ? null : where,
          );
          break;
        }
        const { lease } = acquired;
        let stale = false;
        try {
          const { outcomes } = await lease.connection.send(
            transaction(
              job,
              body,
              pending.map((p) => p.path),
            ),
          );
          stale = !lease.fresh && outcomes.every((o) => o.stage === 'connection');
          const next: typeof pending = [];
          outcomes.forEach((outcome, i) => {
            const recipient = pending[i]!;
            const reply = recorded(deps, outcome.reply, outcome.synthetic, where);
            const klass = replyClass(outcome.reply.code);
            if (outcome.stage === 'connection' && klass !== 2) {
              last = reply;
              next.push(recipient);
            } else {
              const verdict = klass === 2 ? 'delivered' : klass === 5 ? 'bounced' : 'deferred';
              results.push({ index: recipient.index, verdict, reply });
            }
          });
          pending = next;
        } finally {
          await deps.connections.release(lease);
        }
        if (!stale) break;
      }
      if (pending.length === 0) break hops;
      // A session that failed: the next address or host.
    }
  }
  const verdict: Verdict = replyClass(last.code) === 5 ? 'bounced' : 'deferred';
  for (const recipient of pending) results.push({ index: recipient.index, verdict, reply: last });
  return results.sort((a, b) => a.index - b.index);
}

function transaction(job: DeliveryJobV1, body: Buffer, recipients: Path[]): OutboundTransaction {
  return {
    verb: job.verb,
    reversePath: job.reversePath,
    recipients,
    size: body.length,
    eightBit: job.parameters.body === '8BITMIME' || hasEightBit(body),
    smtputf8: job.parameters.smtputf8 === true,
    body: [body],
  };
}

/** An octet over 0x7f anywhere (node:buffer's isAscii: native, not a loop in JS). */
function hasEightBit(body: Buffer): boolean {
  return !isAscii(body);
}

function forwardPath(text: string): Path {
  const parsed = parsePath(`<${text}>`, {
    kind: 'forward',
    utf8Allowed: true,
    limits: DEFAULT_LIMITS,
  });
  // Routing wrote it from a parsed path: a failure here is a bug, not input.
  if (!parsed.ok) throw new Error(`delivery recipient <${text}> does not parse: ${parsed.error}`);
  return parsed.path;
}

function recorded(
  deps: AttemptDependencies,
  reply: Reply,
  synthetic: boolean,
  host: string | null,
): DeliveryReply {
  return {
    code: reply.code,
    enhanced: reply.enhanced ?? null,
    text: reply.lines.join(' '),
    synthetic,
    host,
    at: deps.now().toISOString(),
  };
}

function made(
  deps: AttemptDependencies,
  code: number,
  enhanced: string,
  text: string,
  host: string | null,
): DeliveryReply {
  return { code, enhanced, text, synthetic: true, host, at: deps.now().toISOString() };
}

/** A host name's addresses, or the IP itself. */
export function isAddress(host: string): boolean {
  return isIP(host) !== 0;
}
