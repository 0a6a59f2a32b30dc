// A chaos report written out to a directory: report.json (everything but the
// timeline, the ledger's long lists kept only where they matter: lost in
// full, the others counted), faults.tsv (each fault: kind, target, when it
// began and ended, its error if any) and timeline.tsv (timeline.ts), for
// scripts/plot_timeline.py.
//
// Does not: judge the report.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChaosReport } from './runner.js';
import { timelineTsv } from './timeline.js';

export function saveReport(dir: string, report: ChaosReport, extra: object = {}): void {
  mkdirSync(dir, { recursive: true });
  const { timeline, ledger, ...rest } = report;
  const summary = {
    ...rest,
    ...extra,
    ledger: {
      ...ledger,
      lost: ledger.lost,
      neverAccepted: ledger.neverAccepted.length,
      deliveredUnacknowledged: ledger.deliveredUnacknowledged.length,
    },
  };
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(
    join(dir, 'faults.tsv'),
    ['kind\ttarget\tstarted_s\tended_s\terror']
      .concat(
        report.faults.map((f) =>
          [f.kind, f.target, f.startedAt / 1000, f.endedAt / 1000, f.error ?? ''].join('\t'),
        ),
      )
      .join('\n') + '\n',
  );
  if (timeline !== undefined) writeFileSync(join(dir, 'timeline.tsv'), timelineTsv(timeline));
}
