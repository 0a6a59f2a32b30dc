import { describe, expect, it } from 'vitest';
import { DurationError, formatAge, parseDuration, relativeTime } from './duration.js';

describe('parseDuration', () => {
  it('reads each unit and sequences from the largest', () => {
    expect(parseDuration('30s')).toBe(30);
    expect(parseDuration('5m')).toBe(300);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('1d')).toBe(86_400);
    expect(parseDuration('1w')).toBe(604_800);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration(' 1d2h3m4s ')).toBe(93_784);
  });

  it('refuses a bare number, an unknown unit, a wrong order and junk', () => {
    for (const text of ['5', '', '5x', '30m1h', '1h1h', 'h', '1.5h', '-5m', '5 m'])
      expect(() => parseDuration(text), text).toThrow(DurationError);
    expect(() => parseDuration('5')).toThrow(/no unit: write 5s, 5m/);
  });
});

describe('formatAge', () => {
  it('shows at most two units, the largest first', () => {
    expect(formatAge(0)).toBe('0s');
    expect(formatAge(0.9)).toBe('0s');
    expect(formatAge(45)).toBe('45s');
    expect(formatAge(60)).toBe('1m');
    expect(formatAge(61)).toBe('1m1s');
    expect(formatAge(5400)).toBe('1h30m');
    expect(formatAge(7200 + 59)).toBe('2h');
    expect(formatAge(3 * 86_400 + 4 * 3600 + 5)).toBe('3d4h');
    expect(formatAge(15 * 86_400)).toBe('2w1d');
    expect(formatAge(-5)).toBe('0s');
  });
});

describe('relativeTime', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('says in how long, or how long ago', () => {
    expect(relativeTime('2026-01-01T00:04:00Z', now)).toBe('in 4m');
    expect(relativeTime('2025-12-31T23:59:48Z', now)).toBe('12s ago');
    expect(relativeTime('2026-01-01T00:00:00.200Z', now)).toBe('now');
  });

  it('shows "-" for none or an unreadable time', () => {
    expect(relativeTime('', now)).toBe('-');
    expect(relativeTime('soon', now)).toBe('-');
  });
});
