import { describe, expect, it } from 'vitest';
import { NOW, summary } from '../test/fixtures.js';
import { bucketHeaders, formatQueue, qshapeRows, stateRows } from './format-queue.js';

describe('the queue view', () => {
  it('heads the age buckets as qshape does', () => {
    expect(bucketHeaders([5, 10, 20, 40, 80, 160, 320, 640, 1280])).toEqual([
      '5',
      '10',
      '20',
      '40',
      '80',
      '160',
      '320',
      '640',
      '1280',
      '1280+',
    ]);
    expect(bucketHeaders([])).toEqual([]);
  });

  it('lists every state in order, the missing ones as 0, with a total', () => {
    expect(stateRows(summary())).toEqual([
      ['queued', '3', '4'],
      ['routing', '0', '0'],
      ['deferred', '2', '2'],
      ['active', '0', '0'],
      ['held', '1', '1'],
      ['failed', '0', '0'],
      ['total', '6', '7'],
    ]);
  });

  it('puts TOTAL first, the busiest domains next, and sums the rest in one row', () => {
    const rows = qshapeRows(summary(), 1);
    expect(rows.map((r) => [r.domain, r.total, r.deferred])).toEqual([
      ['TOTAL', 6, 3],
      ['a.test', 4, 2],
      ['… 1 more', 2, 1],
    ]);
    expect(rows[0]!.buckets).toEqual([4, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    expect(qshapeRows(summary(), 0)).toHaveLength(3);
  });

  it('prints the states and the qshape table', () => {
    expect(formatQueue(summary(), { limit: 20, nowMs: NOW })).toBe(
      [
        'STATE     ENTRIES  RECIPIENTS',
        'queued          3           4',
        'routing         0           0',
        'deferred        2           2',
        'active          0           0',
        'held            1           1',
        'failed          0           0',
        'total           6           7',
        '',
        'oldest entry received 2026-11-22T15:20:00.000Z (1d1h ago)',
        '',
        'entries by destination domain and age in minutes (DEFERRED: recipients deferred at least once)',
        'DOMAIN  T  5  10  20  40  80  160  320  640  1280  1280+  DEFERRED',
        'TOTAL   6  4   0   0   1   0    0    0    0     0      1         3',
        'a.test  4  3   0   0   0   0    0    0    0     0      1         2',
        'b.test  2  1   0   0   1   0    0    0    0     0      0         1',
        '',
      ].join('\n'),
    );
  });
});
