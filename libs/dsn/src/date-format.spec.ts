import { describe, expect, it } from 'vitest';
import { formatDate } from './date-format.js';

describe('formatDate', () => {
  it('writes RFC 5322 date-time in UTC with a +0000 zone and two-digit fields', () => {
    expect(formatDate(new Date(Date.UTC(2025, 0, 5, 3, 4, 5)), 'd')).toBe(
      'Sun, 05 Jan 2025 03:04:05 +0000',
    );
    expect(formatDate(new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999)), 'd')).toBe(
      'Fri, 31 Dec 1999 23:59:59 +0000',
    );
  });

  it('does not depend on the local time zone', () => {
    const d = new Date('2025-07-01T23:30:00-05:00');
    expect(formatDate(d, 'd')).toBe('Wed, 02 Jul 2025 04:30:00 +0000');
  });

  it('refuses an invalid date and years outside 1900-9999', () => {
    expect(() => formatDate(new Date(Number.NaN), 'date')).toThrow(/date is not a valid date/);
    expect(() => formatDate(new Date(Date.UTC(1899, 0, 1)), 'date')).toThrow(/1900-9999/);
    expect(() => formatDate(new Date(Date.UTC(10000, 0, 1)), 'date')).toThrow(/1900-9999/);
  });
});
