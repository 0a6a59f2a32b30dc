import { describe, expect, it } from 'vitest';
import { NOW, status, summary } from '../test/fixtures.js';
import { counterRates, oldestBucket, renderTopFrame, type TopSample } from './top.js';

const sample = (offsetMs: number, counters: Record<string, number>): TopSample => ({
  status: status({
    at: new Date(NOW + offsetMs).toISOString(),
    counters: Object.entries(counters).map(([name, value]) => ({ name, value })),
  }),
  summary: summary(),
  atMs: NOW + offsetMs,
});

describe('counterRates', () => {
  it('divides each counter’s growth by the seconds between the samples (the server’s clock)', () => {
    const before = sample(0, { accepted: 100, delivered: 50, deferred: 5, bounced: 1 });
    const after = sample(2000, { accepted: 120, delivered: 90, deferred: 5, bounced: 2 });
    expect(Object.fromEntries(counterRates(before, after)!)).toEqual({
      accepted: 10,
      delivered: 20,
      deferred: 0,
      bounced: 0.5,
    });
  });

  it('knows nothing from one sample, a counter missing or reset', () => {
    const after = sample(1000, { accepted: 5, delivered: 1 });
    expect(counterRates(null, after)).toBeNull();
    const rates = counterRates(sample(0, { accepted: 10, delivered: 0 }), after)!;
    expect(rates.get('accepted')).toBeNull();
    expect(rates.get('delivered')).toBe(1);
    expect(rates.get('bounced')).toBeNull();
  });
});

describe('oldestBucket', () => {
  it('names the oldest age bucket holding entries', () => {
    const minutes = [5, 10, 20];
    expect(
      oldestBucket({ domain: 'a', total: 1, buckets: [1, 0, 0, 0], deferred: 0 }, minutes),
    ).toBe('<5m');
    expect(
      oldestBucket({ domain: 'a', total: 2, buckets: [1, 0, 1, 0], deferred: 0 }, minutes),
    ).toBe('<20m');
    expect(
      oldestBucket({ domain: 'a', total: 1, buckets: [0, 0, 0, 1], deferred: 0 }, minutes),
    ).toBe('>20m');
    expect(
      oldestBucket({ domain: 'a', total: 0, buckets: [0, 0, 0, 0], deferred: 0 }, minutes),
    ).toBe('-');
  });
});

describe('renderTopFrame', () => {
  const before = sample(0, { accepted: 100, delivered: 50, deferred: 5, bounced: 1 });
  const after = sample(1000, { accepted: 112, delivered: 61, deferred: 6, bounced: 1 });

  it('shows services, rates, the queue by state, Redis and the busiest destinations', () => {
    const lines = renderTopFrame(after, before, {
      width: 100,
      height: 30,
      intervalMs: 1000,
      nowMs: NOW,
      live: true,
    });
    expect(lines).toEqual([
      'petrel top  16:20:00Z   services 2/3 up (ingress 1, routing 1)   every 1s, q quits',
      '',
      'RATES/s  in: accepted 12.0   out: delivered 11.0   deferred 1.0   bounced 0.0',
      'QUEUE    queued 3  routing 0  deferred 2  active 0  held 1  failed 0  total 6  oldest 1d1h',
      'REDIS    7.0.15 master   3.0 MiB   aof always',
      '',
      `DESTINATION  ENTRIES  DEFERRED  OLDEST`,
      `a.test             4         2  >1280m  ${'#'.repeat(100 - 38 - 2)}`,
      `b.test             2         1    <40m  ${'#'.repeat(30)}`,
    ]);
  });

  it('fits the terminal: cuts lines, and sums the destinations that do not fit', () => {
    const many = {
      ...after,
      summary: summary({
        domains: Array.from({ length: 30 }, (_, i) => ({
          domain: `d${String(i).padStart(2, '0')}.test`,
          total: 100 - i,
          buckets: [100 - i, 0, 0, 0, 0, 0, 0, 0, 0, 0],
          deferred: 1,
        })),
      }),
    };
    const lines = renderTopFrame(many, before, {
      width: 40,
      height: 12,
      intervalMs: 1000,
      nowMs: NOW,
    });
    expect(lines).toHaveLength(12);
    expect(lines.every((line) => line.length <= 40)).toBe(true);
    expect(lines[7]).toMatch(/^d00\.test\s+100\s+1\s+<5m$/);
    expect(lines[11]).toMatch(/^… 26 more\s+2171\s+26$/);
  });

  it('shows an error under the header, and dashes for rates from one sample', () => {
    const lines = renderTopFrame(after, null, {
      width: 120,
      height: 40,
      intervalMs: 1000,
      nowMs: NOW,
      error: 'cannot reach the admin API at 127.0.0.1:1',
    });
    expect(lines[1]).toBe('! cannot reach the admin API at 127.0.0.1:1');
    expect(lines[3]).toBe('RATES/s  in: accepted -   out: delivered -   deferred -   bounced -');
    expect(
      renderTopFrame(null, null, {
        width: 80,
        height: 24,
        intervalMs: 1000,
        nowMs: NOW,
        error: 'x',
      }),
    ).toEqual(['petrel top  16:20:00Z', '! x']);
  });

  it('says when the queue is empty', () => {
    const empty = { ...after, summary: summary({ domains: [], states: [], oldestReceivedAt: '' }) };
    const lines = renderTopFrame(empty, before, {
      width: 100,
      height: 30,
      intervalMs: 1000,
      nowMs: NOW,
    });
    expect(lines[3]).toBe(
      'QUEUE    queued 0  routing 0  deferred 0  active 0  held 0  failed 0  total 0',
    );
    expect(lines.at(-1)).toBe('no entries in the queue');
  });
});
