// RFC 5322 §3.3 date-time in UTC, for the Date: header and the RFC 3464
// date fields (Arrival-Date, Last-Attempt-Date, Will-Retry-Until):
// "Tue, 01 Jul 2025 09:05:03 +0000".
//
// Does not: use the local time zone, add a "(UTC)" comment, or read the clock
// (the date is always an input).

import { invalid } from './dsn-error.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
] as const;

/** Throws DsnError 'invalid-input' for an invalid Date or a year outside 1900-9999 (RFC 5322 §3.3: 4DIGIT, >= 1900). */
export function formatDate(date: Date, what: string): string {
  if (!(date instanceof Date)) throw invalid(`${what} is not a Date`);
  const t = date.getTime();
  if (!Number.isFinite(t)) throw invalid(`${what} is not a valid date`);
  const year = date.getUTCFullYear();
  if (year < 1900 || year > 9999) throw invalid(`${what} has a year outside 1900-9999`);
  const day = DAYS[date.getUTCDay()]!;
  const month = MONTHS[date.getUTCMonth()]!;
  return `${day}, ${two(date.getUTCDate())} ${month} ${year} ${two(date.getUTCHours())}:${two(
    date.getUTCMinutes(),
  )}:${two(date.getUTCSeconds())} +0000`;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
