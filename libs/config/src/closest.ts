// "Did you mean ...?" for unknown keys and environment variables: the known
// name nearest to what was written, when one is near enough to be a typo.
//
// Does not: guess across unrelated names (a hint that is wrong is worse than
// none), so the distance allowed grows with the length of the name, and a
// shortened name is completed only when one candidate fits.

/** The candidate closest to `written`, or null when none is plausibly meant. */
export function closest(written: string, candidates: readonly string[]): string | null {
  const folded = fold(written);
  let best: { name: string; distance: number } | null = null;
  for (const name of candidates) {
    // Case, "_" and "-" differences alone ("max_message_size") are always meant.
    const distance = fold(name) === folded ? 0 : editDistance(written, name);
    if (best === null || distance < best.distance) best = { name, distance };
  }
  if (best === null) return null;
  const allowed = Math.max(1, Math.min(3, Math.floor(written.length / 4)));
  if (best.distance <= allowed) return best.name;
  // A shortened name ("proxy" for "proxyProtocol"), when only one fits.
  if (folded.length < 4) return null;
  const longer = [...candidates].filter((name) => fold(name).startsWith(folded));
  return longer.length === 1 ? (longer[0] ?? null) : null;
}

function fold(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

/**
 * Edit distance with adjacent transpositions ("tsl" is one edit from "tls"),
 * case-insensitive (optimal string alignment).
 */
export function editDistance(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  let before: number[] = [];
  let previous = Array.from({ length: right.length + 1 }, (_, j) => j);
  for (let i = 1; i <= left.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= right.length; j += 1) {
      const same = left[i - 1] === right[j - 1];
      let best = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (same ? 0 : 1),
      );
      if (i > 1 && j > 1 && left[i - 1] === right[j - 2] && left[i - 2] === right[j - 1]) {
        best = Math.min(best, (before[j - 2] ?? 0) + 1);
      }
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[right.length] ?? 0;
}
