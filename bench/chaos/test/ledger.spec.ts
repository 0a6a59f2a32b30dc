import { describe, expect, it } from 'vitest';
import { planFaults, FAULT_KINDS } from '../src/faults.js';
import { explainDuplicates, countCauses } from '../src/duplicate-causes.js';
import { Ledger, type Duplicate } from '../src/ledger.js';
import type { AppliedFault } from '../src/runner.js';

describe('the ledger', () => {
  it('finds a message given a 250 and never delivered lost', () => {
    const ledger = new Ledger();
    ledger.record(0, ['a@d0.test']).accepted.push('Q0');
    ledger.record(1, ['b@d1.test', 'c@d0.test']).accepted.push('Q1');
    ledger.delivered({ seq: 0, recipients: ['a@d0.test'], sink: 0, at: 0 });
    ledger.delivered({ seq: 1, recipients: ['b@d1.test'], sink: 1, at: 0 });
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
      ledger.delivered({ seq, recipients: [`${'abc'[seq]}@D0.test`], sink: 0, at: 1_000 * seq });
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
    ledger.delivered({ seq: 0, recipients: ['a@d0.test'], sink: 0, at: 0 });
    const report = ledger.report();
    expect(report.neverAccepted).toEqual([0, 1]);
    expect(report.deliveredUnacknowledged).toEqual([0]);
    expect(report.lost).toEqual([]);
    expect(report.refusals).toEqual([{ reply: '451 4.3.0 try later', count: 1 }]);
    expect(report.unknownOutcomes).toBe(3);
  });
});

describe('the causes of duplicates', () => {
  const relay = (at: number[], sink = 0): Duplicate => ({
    seq: 7,
    recipient: 'a@d0.test',
    copies: at.length,
    reason: 'a delivery was repeated after a fault: the next hop took it, and ...',
    at: at.map((t) => 100_000 + t),
    sinks: at.map(() => sink),
  });
  const fault = (kind: AppliedFault['kind'], target: number, startedAt: number): AppliedFault => ({
    kind,
    target,
    at: startedAt,
    durationMs: 0,
    startedAt,
    endedAt: startedAt + 100,
  });
  const faults = [
    fault('kill-routing', 0, 10_000),
    fault('kill-egress', 1, 10_050),
    fault('restart-redis', 0, 20_000),
    fault('cut-next-hop', 1, 30_000),
    fault('kill-ingress', 0, 40_000),
  ];

  it('lays each repeated delivery to the fault nearest its first copy that can make one', () => {
    const explained = explainDuplicates(
      [
        relay([10_040, 15_000]),
        relay([19_990, 21_000]),
        relay([30_100, 36_000], 1),
        relay([30_100, 36_000], 0),
        relay([40_010, 45_000]),
        {
          ...relay([50_000, 50_100]),
          reason: 'the client sent it 2 times and got a 250 each time',
        },
      ],
      faults,
      100_000,
    );
    expect(explained.map((e) => e.cause)).toEqual([
      'kill-egress',
      'restart-redis',
      'cut-next-hop',
      // A cut of another next hop, a routing or an ingress kill, a restart over
      // 10 s before: none explains it.
      'unexplained',
      'unexplained',
      'client',
    ]);
    expect(explained[0]!.because).toBe('kill-egress 1 at 10.05 s; copies at 10.04 s, 15.00 s');
    expect(countCauses(explained)).toEqual({
      'kill-egress': 1,
      'restart-redis': 1,
      'cut-next-hop': 1,
      client: 1,
      unexplained: 2,
    });
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
