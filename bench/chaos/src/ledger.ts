// What a chaos run knows about each message: what the client was told, and
// what reached the next hops. Each message carries `X-Chaos-Seq: <seq>` so a
// delivered copy is matched to its send whatever the relay's queue id.
//
// A message is "given a 250" when some attempt got a 250 (its queue id is
// kept). An attempt whose outcome the client never learned (the connection
// dropped after the final dot, a timeout) is "unknown": the client sends
// again, and a duplicate delivery of such a message is explained by it.
// Recipients: each copy delivered counts once per recipient at its next hop.
//
// Does not: talk SMTP or Redis; it only counts.

export interface Delivered {
  readonly seq: number;
  readonly recipients: readonly string[];
  readonly sink: number;
  /** When the next hop took it (Date.now()). */
  readonly at: number;
}

export interface MessageRecord {
  readonly seq: number;
  readonly recipients: readonly string[];
  /** Queue ids of the attempts that got a 250. */
  readonly accepted: string[];
  /** Attempts that got a 4yz or 5yz (the reply's first line). */
  readonly refused: string[];
  /** Attempts whose outcome the client could not know. */
  unknown: number;
}

export interface LedgerReport {
  readonly sent: number;
  /** Messages given at least one 250. */
  readonly accepted: number;
  /** Messages whose every recipient was delivered at least once. */
  readonly delivered: number;
  /** Messages given a 250 and some recipient of which never arrived. */
  readonly lost: readonly number[];
  /** Messages never given a 250 (the client gave up). */
  readonly neverAccepted: readonly number[];
  /** Recipient copies delivered more than once, with the reason each could happen. */
  readonly duplicates: readonly Duplicate[];
  /** Deliveries of a message the client never got a 250 for (a stored message whose 250 was lost). */
  readonly deliveredUnacknowledged: readonly number[];
  /** The refusals the clients met, by reply (its code and first words), most frequent first. */
  readonly refusals: readonly { reply: string; count: number }[];
  /** Attempts whose outcome the clients could not know. */
  readonly unknownOutcomes: number;
}

export interface Duplicate {
  readonly seq: number;
  readonly recipient: string;
  readonly copies: number;
  readonly reason: string;
  /** When each copy arrived (Date.now()), in order, and at which next hop. */
  readonly at: readonly number[];
  readonly sinks: readonly number[];
}

export class Ledger {
  readonly #messages = new Map<number, MessageRecord>();
  /** Per "seq recipient": each copy's arrival and next hop. */
  readonly #copies = new Map<string, { at: number; sink: number }[]>();

  record(seq: number, recipients: readonly string[]): MessageRecord {
    const record: MessageRecord = { seq, recipients, accepted: [], refused: [], unknown: 0 };
    this.#messages.set(seq, record);
    return record;
  }

  delivered(d: Delivered): void {
    for (const r of d.recipients) {
      const key = `${d.seq} ${r.toLowerCase()}`;
      const copies = this.#copies.get(key) ?? [];
      copies.push({ at: d.at, sink: d.sink });
      this.#copies.set(key, copies);
    }
  }

  get messages(): readonly MessageRecord[] {
    return [...this.#messages.values()];
  }

  report(): LedgerReport {
    const lost: number[] = [];
    const neverAccepted: number[] = [];
    const deliveredUnacknowledged: number[] = [];
    const duplicates: Duplicate[] = [];
    let accepted = 0;
    let delivered = 0;
    for (const m of this.#messages.values()) {
      const arrivals = m.recipients.map((r) =>
        (this.#copies.get(`${m.seq} ${r.toLowerCase()}`) ?? []).sort((a, b) => a.at - b.at),
      );
      const copies = arrivals.map((a) => a.length);
      if (m.accepted.length > 0) accepted++;
      else neverAccepted.push(m.seq);
      if (copies.every((c) => c > 0)) delivered++;
      if (m.accepted.length > 0 && copies.some((c) => c === 0)) lost.push(m.seq);
      if (m.accepted.length === 0 && copies.some((c) => c > 0)) deliveredUnacknowledged.push(m.seq);
      m.recipients.forEach((recipient, i) => {
        if (copies[i]! <= 1) return;
        duplicates.push({
          seq: m.seq,
          recipient,
          copies: copies[i]!,
          reason: reasonFor(m),
          at: arrivals[i]!.map((a) => a.at),
          sinks: arrivals[i]!.map((a) => a.sink),
        });
      });
    }
    const refusals = new Map<string, number>();
    let unknownOutcomes = 0;
    for (const m of this.#messages.values()) {
      unknownOutcomes += m.unknown;
      for (const r of m.refused) {
        const key = r.replace(/\b[0-9A-HJKMNP-TV-Z]{26}\b/g, '<id>').slice(0, 60);
        refusals.set(key, (refusals.get(key) ?? 0) + 1);
      }
    }
    return {
      sent: this.#messages.size,
      accepted,
      delivered,
      lost,
      neverAccepted,
      duplicates,
      deliveredUnacknowledged,
      refusals: [...refusals]
        .map(([reply, count]) => ({ reply, count }))
        .sort((a, b) => b.count - a.count),
      unknownOutcomes,
    };
  }
}

function reasonFor(m: MessageRecord): string {
  if (m.accepted.length > 1)
    return `the client sent it ${m.accepted.length} times and got a 250 each time`;
  if (m.unknown > 0)
    return 'the client did not learn the outcome of an attempt (connection lost after the data) and sent it again';
  return 'a delivery was repeated after a fault: the next hop took it, and egress could not record that (egress killed, Redis restarting, or the connection cut before the reply)';
}
