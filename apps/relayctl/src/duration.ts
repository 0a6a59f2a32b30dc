// Durations and ages as an operator types and reads them. Pure.
//
//   parseDuration("1h30m") → 5400 (seconds): units s, m, h, d, w, in any
//   sequence from the largest; a bare number is refused (seconds or minutes?).
//   formatAge(5400) → "1h30m": at most two units, the largest first.
//   relativeTime(iso, now) → "in 4m", "12s ago", "-" for none.

const UNITS: Readonly<Record<string, number>> = { w: 604_800, d: 86_400, h: 3600, m: 60, s: 1 };
const ORDER = ['w', 'd', 'h', 'm', 's'];

export class DurationError extends Error {}

/** Seconds in "30s", "5m", "2h", "1d", "1w", or a sequence such as "1h30m". */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed))
    throw new DurationError(
      `"${text}" has no unit: write ${trimmed}s, ${trimmed}m, ${trimmed}h or ${trimmed}d`,
    );
  const part = /(\d+)([wdhms])/gy;
  let seconds = 0;
  let at = 0;
  let last = -1;
  for (let match = part.exec(trimmed); match !== null; match = part.exec(trimmed)) {
    const unit = ORDER.indexOf(match[2]!);
    if (unit <= last) throw new DurationError(`"${text}": units go from the largest (1h30m)`);
    last = unit;
    seconds += Number(match[1]) * UNITS[match[2]!]!;
    at = part.lastIndex;
  }
  if (trimmed === '' || at !== trimmed.length)
    throw new DurationError(`"${text}" is not a duration: write 30s, 5m, 2h, 1d or 1h30m`);
  if (!Number.isSafeInteger(seconds)) throw new DurationError(`"${text}" is too long`);
  return seconds;
}

/** "0s", "45s", "5m", "2h10m", "3d4h", "2w1d": at most two units. */
export function formatAge(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const first = ORDER.findIndex((unit) => whole >= UNITS[unit]!);
  if (first < 0) return '0s';
  const unit = ORDER[first]!;
  const count = Math.floor(whole / UNITS[unit]!);
  const next = ORDER[first + 1];
  if (next === undefined) return `${count}${unit}`;
  const more = Math.floor((whole - count * UNITS[unit]!) / UNITS[next]!);
  return more > 0 ? `${count}${unit}${more}${next}` : `${count}${unit}`;
}

/** "in 4m" for a time ahead, "12s ago" for one past, "-" for "" or an unreadable time. */
export function relativeTime(iso: string, nowMs: number): string {
  if (iso === '') return '-';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '-';
  const seconds = Math.round((at - nowMs) / 1000);
  if (seconds === 0) return 'now';
  return seconds > 0 ? `in ${formatAge(seconds)}` : `${formatAge(-seconds)} ago`;
}

/** Seconds since an ISO time (0 for "" or an unreadable one). */
export function secondsSince(iso: string, nowMs: number): number {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? 0 : Math.max(0, (nowMs - at) / 1000);
}
