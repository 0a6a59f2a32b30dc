import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['5d', 432_000_000],
    ['66m', 3_960_000],
    ['1h30m', 5_400_000],
    ['1d12h', 129_600_000],
    ['1.5s', 1500],
    ['0.1s', 100],
    [' 30s ', 30_000],
    ['0s', 0],
    ['1500', 1500],
    ['0', 0],
  ])('reads %j as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('takes a bare number as milliseconds', () => {
    expect(parseDuration(1000)).toBe(1000);
    expect(parseDuration(0)).toBe(0);
  });

  it.each(['', ' ', 'five minutes', '5 m', '5M', '5min', '-5s', '5s-', 's', 'ms5', '1h 30m', '5w'])(
    'refuses %j, naming what it expected',
    (text) => {
      expect(() => parseDuration(text)).toThrow(
        `expected a duration such as 250ms, 30s, 5m, 2h or 5d, got ${JSON.stringify(text)}`,
      );
    },
  );

  it('refuses fractions of a millisecond', () => {
    expect(() => parseDuration('0.5ms')).toThrow('expected a whole number of milliseconds');
    expect(() => parseDuration(1.5)).toThrow(RangeError);
  });

  it('refuses negative, infinite and unsafe numbers', () => {
    expect(() => parseDuration(-1)).toThrow(RangeError);
    expect(() => parseDuration(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => parseDuration(Number.NaN)).toThrow(RangeError);
    expect(() => parseDuration('99999999999999d')).toThrow(RangeError);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [30_000, '30s'],
    [90_000, '1m30s'],
    [3_960_000, '1h6m'],
    [432_000_000, '5d'],
    [2_147_483_647, '24d20h31m23s647ms'],
  ])('writes %i ms as %j, which reads back', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});
