import { describe, expect, it } from 'vitest';
import { planFaults, FAULT_KINDS } from '../src/faults.js';
import { Ledger } from '../src/ledger.js';

describe('the ledger', () => {
  it('finds a message given a 250 and never delivered lost', () => {
    const ledger = new Ledger();
    ledger.record(0, ['a@d0.test']).accepted.push('Q0');
    ledger.record(1, ['b@d1.test', 'c@d0.test']).accepted.push('Q1');
    ledger.delivered({ seq: 0, recipients: ['a@d0.test'], sink: 0 });
    ledger.delivered({ seq: 1, recipients: ['b@d1.test'], sink: 1 });
    const report = ledger.report();
    expect(report).toMatchObject({ sent: 2, accepted: 2, delivered: 1, lost: [1], duplicates: [] });
  });

  it('explains each duplicate by what the client or the relay went through', () => {
    const ledger = new Ledger();
    const twice = ledger.record(0, ['a@d0.test']);
    twice.accepted.push('Q0', 'Q0b');
    const unknown = ledger.record(1, ['b@d0.test']);
    unknown.unknown = 1;
    unknown.accepted.push('Q1');
    ledger.record(2, ['c@d0.test']).accepted.push('Q2');
    for (const seq of [0, 0, 1, 1, 2, 2])
      ledger.delivered({ seq, recipients: [`${'abc'[seq]}@D0.test`], sink: 0 });
    const reasons = ledger.report().duplicates.map((d) => [d.seq, d.copies, d.reason]);
    expect(reasons).toEqual([
      [0, 2, 'the client sent it 2 times and got a 250 each time'],
      [1, 2, expect.stringMatching(/did not learn the outcome/)],
      [2, 2, expect.stringMatching(/delivery was repeated after a fault/)],
    ]);
  });

  it('tells a message never accepted from one delivered without its 250', () => {
    const ledger = new Ledger();
    ledger.record(0, ['a@d0.test']).unknown = 3;
    ledger.record(1, ['b@d0.test']).refused.push('451 4.3.0 try later');
    ledger.delivered({ seq: 0, recipients: ['a@d0.test'], sink: 0 });
    const report = ledger.report();
    expect(report.neverAccepted).toEqual([0, 1]);
    expect(report.deliveredUnacknowledged).toEqual([0]);
    expect(report.lost).toEqual([]);
    expect(report.refusals).toEqual([{ reply: '451 4.3.0 try later', count: 1 }]);
    expect(report.unknownOutcomes).toBe(3);
  });
});

describe('the fault plan', () => {
  const plan = {
    seed: 42,
    lengthMs: 60_000,
    perKind: 10,
    counts: { ingress: 3, routing: 2, egress: 3, nextHops: 2 },
  };

  it('is the same for the same seed, and another for another seed', () => {
    expect(planFaults(plan)).toEqual(planFaults(plan));
    expect(planFaults({ ...plan, seed: 43 })).not.toEqual(planFaults(plan));
  });

  it('has perKind faults of every kind, in order, within the run, on existing targets', () => {
    const faults = planFaults(plan);
    for (const kind of FAULT_KINDS) expect(faults.filter((f) => f.kind === kind)).toHaveLength(10);
    expect(faults.map((f) => f.at)).toEqual([...faults.map((f) => f.at)].sort((a, b) => a - b));
    for (const f of faults) {
      expect(f.at).toBeGreaterThanOrEqual(2_000);
      expect(f.at).toBeLessThanOrEqual(60_000);
      const count =
        f.kind === 'kill-ingress' || f.kind === 'kill-egress'
          ? 3
          : f.kind === 'kill-routing' || f.kind.includes('next-hop')
            ? 2
            : 1;
      expect(f.target).toBeLessThan(count);
      expect(f.durationMs > 0).toBe(f.kind.includes('next-hop'));
    }
  });
});
