// Durations as operators write them: "250ms", "30s", "5m", "2h", "5d", or a
// sequence of them ("1h30m"). A bare number, or a string of digits alone, is
// milliseconds. Units are lower case only ("5M" could be read as months).
//
// Does not: accept negative durations, fractions of a millisecond or words
// ("five minutes"); decide which range a key accepts (file-schema.ts does).

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
const BARE = /^\d+(?:\.\d+)?$/;

export const DURATION_HINT = 'a duration such as 250ms, 30s, 5m, 2h or 5d';

/**
 * Milliseconds in `text`. Throws a RangeError naming what it expected when
 * `text` is not a duration or is not a whole number of milliseconds.
 */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') return wholeMs(text, String(text));
  const trimmed = text.trim();
  if (trimmed.length === 0) throw notADuration(text);
  if (BARE.test(trimmed)) return wholeMs(Number(trimmed), text);
  let total = 0;
  let at = 0;
  while (at < trimmed.length) {
    PART.lastIndex = at;
    const match = PART.exec(trimmed);
    if (match === null) throw notADuration(text);
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
    at = PART.lastIndex;
  }
  return wholeMs(total, text);
}

/** "90000" → "1m30s": the shortest exact spelling, for messages and docs. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}

function wholeMs(ms: number, shown: string): number {
  if (!Number.isFinite(ms) || ms < 0) throw notADuration(shown);
  // Binary fractions ("0.1s" is 100.00000000000001 ms) are rounded first.
  const rounded = Math.round(ms * 1e6) / 1e6;
  if (!Number.isInteger(rounded)) {
    throw new RangeError(`expected a whole number of milliseconds, got ${JSON.stringify(shown)}`);
  }
  if (!Number.isSafeInteger(rounded)) throw notADuration(shown);
  return rounded;
}

function notADuration(shown: string | number): RangeError {
  return new RangeError(`expected ${DURATION_HINT}, got ${JSON.stringify(shown)}`);
}
