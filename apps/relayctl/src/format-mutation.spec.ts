import type { Progress } from '@petrel/proto';
import { describe, expect, it } from 'vitest';
import { progressBar, progressLine, summaryLine } from './format-mutation.js';

const progress = (fields: Partial<Progress>): Progress => ({
  matched: 12,
  done: 12,
  changed: 10,
  unchanged: 2,
  skipped: 0,
  id: '',
  outcome: '',
  detail: '',
  final: true,
  ...fields,
});

describe('mutation output', () => {
  it('sums up what was done, or would be', () => {
    expect(summaryLine('hold', progress({}), false)).toBe(
      'hold: 12 matched, 10 held, 2 unchanged, 0 skipped',
    );
    expect(summaryLine('hold', progress({}), true)).toBe(
      'hold (dry run): 12 matched, 10 would hold, 2 unchanged, 0 skipped',
    );
    expect(summaryLine('retry', progress({ changed: 1 }), false)).toContain('1 retried');
    expect(summaryLine('bounce', progress({ matched: 0, changed: 0, unchanged: 0 }), false)).toBe(
      'bounce: 0 matched, 0 bounced, 0 unchanged, 0 skipped',
    );
  });

  it('gives one line per entry', () => {
    expect(
      progressLine(progress({ id: 'M.1', outcome: 'changed', detail: 'held', final: false })),
    ).toBe('M.1  changed  held');
    expect(progressLine(progress({ id: 'M.2', outcome: 'unchanged', final: false }))).toBe(
      'M.2  unchanged',
    );
  });

  it('draws a bar fitted to the width', () => {
    expect(progressBar('hold', progress({ done: 3, matched: 12 }), 40)).toBe(
      'hold [#######--------------------] 3/12',
    );
    expect(progressBar('hold', progress({ done: 0, matched: 0 }), 200)).toBe(
      `hold [${'#'.repeat(50)}] 0/0`,
    );
    expect(progressBar('delete', progress({ done: 1, matched: 2 }), 5)).toBe(
      'delete [#####-----] 1/2',
    );
  });
});
