// The chaos run's SMTP clients: N messages started at a steady
// `ratePerSecond`, each attempt on a new connection (nodemailer, as a
// submitting client would), at most `clients` connections at once, each
// message carrying `X-Chaos-Seq`. A message is sent again after a refusal
// (4yz, a refused connection) or an unknown outcome, with a backoff (holding
// no connection meanwhile), until it gets a 250 or `giveUpMs` after the
// schedule ends. Every attempt's outcome goes to the ledger.
//
// Does not: pipeline several messages per connection, or treat a 5yz as
// final (under chaos a 5yz is a bug to report, and it is kept as refused).

import nodemailer from 'nodemailer';
import type { Ledger, MessageRecord } from './ledger.js';

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  readonly messages: number;
  readonly ratePerSecond: number;
  readonly clients: number;
  /** Recipient domains, one per next hop. */
  readonly domains: readonly string[];
  readonly bodyOctets?: number;
  /** How long after the schedule's end a message may still be retried. */
  readonly giveUpMs?: number;
  /** The first message's X-Chaos-Seq (default 0): runs in one cluster use distinct ranges. */
  readonly firstSeq?: number;
}

export interface LoadResult {
  readonly startedAt: number;
  readonly endedAt: number;
  readonly attempts: number;
}

/** The recipients of message `seq`: one at its domain, and every fifth a second at the next domain. */
export function recipientsFor(seq: number, domains: readonly string[]): string[] {
  const first = `u${seq}@${domains[seq % domains.length]}`;
  return seq % 5 === 0 ? [first, `v${seq}@${domains[(seq + 1) % domains.length]}`] : [first];
}

function body(seq: number, recipients: readonly string[], octets: number): string {
  const head =
    `From: chaos@client.chaos.test\r\nTo: ${recipients.join(', ')}\r\n` +
    `Subject: chaos ${seq}\r\nMessage-ID: <chaos-${seq}@client.chaos.test>\r\nX-Chaos-Seq: ${seq}\r\n\r\n`;
  const line = `${'x'.repeat(76)}\r\n`;
  return head + line.repeat(Math.max(1, Math.ceil((octets - head.length) / line.length)));
}

type Outcome =
  { kind: 'accepted'; queueId: string } | { kind: 'refused'; reply: string } | { kind: 'unknown' };

async function attempt(options: LoadOptions, record: MessageRecord): Promise<Outcome> {
  const transport = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: false,
    ignoreTLS: true,
    name: 'client.chaos.test',
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 15_000,
  });
  try {
    const info = await transport.sendMail({
      envelope: { from: 'chaos@client.chaos.test', to: [...record.recipients] },
      raw: body(record.seq, record.recipients, options.bodyOctets ?? 1_000),
    });
    const queueId = /queued as (\S+)/.exec(info.response)?.[1] ?? info.response;
    return { kind: 'accepted', queueId };
  } catch (e) {
    const err = e as { responseCode?: number; response?: string; code?: string; command?: string };
    if (err.responseCode !== undefined)
      return { kind: 'refused', reply: err.response ?? String(err.responseCode) };
    // No connection, or none yet at the greeting: nothing was sent.
    if (err.command === 'CONN' || err.code === 'ECONNREFUSED')
      return { kind: 'refused', reply: `no connection (${err.code})` };
    return { kind: 'unknown' };
  } finally {
    transport.close();
  }
}

export async function runLoad(options: LoadOptions, ledger: Ledger): Promise<LoadResult> {
  const startedAt = Date.now();
  const interval = 1_000 / options.ratePerSecond;
  const giveUpAt = startedAt + options.messages * interval + (options.giveUpMs ?? 60_000);
  let attempts = 0;
  // At most `clients` connections at once; a message waiting to retry holds none.
  let free = options.clients;
  const waiting: (() => void)[] = [];
  const acquire = async (): Promise<void> => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };

  const sendOne = async (record: MessageRecord): Promise<void> => {
    for (let tries = 0; ; tries++) {
      await acquire();
      attempts++;
      const outcome = await attempt(options, record).finally(release);
      if (outcome.kind === 'accepted') {
        record.accepted.push(outcome.queueId);
        return;
      }
      if (outcome.kind === 'refused') record.refused.push(outcome.reply.split('\n')[0]!);
      else record.unknown++;
      if (Date.now() > giveUpAt) return;
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** tries, 2_000)));
    }
  };

  const sending: Promise<void>[] = [];
  const first = options.firstSeq ?? 0;
  for (let seq = first; seq < first + options.messages; seq++) {
    const due = startedAt + (seq - first) * interval;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    sending.push(sendOne(ledger.record(seq, recipientsFor(seq, options.domains))));
  }
  await Promise.all(sending);
  return { startedAt, endedAt: Date.now(), attempts };
}
