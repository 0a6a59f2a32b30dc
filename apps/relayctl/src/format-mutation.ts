// What retry, hold, release, delete and bounce print: a line per entry, the
// progress bar, and the summary. Pure.

import type { Progress } from '@petrel/proto';
import type { MutationVerb } from './commands.js';

const DONE: Record<MutationVerb, string> = {
  retry: 'retried',
  hold: 'held',
  release: 'released',
  delete: 'deleted',
  bounce: 'bounced',
};

/** "hold: 12 matched, 10 held, 2 unchanged, 0 skipped" (dry run: "would hold"). */
export function summaryLine(verb: MutationVerb, progress: Progress, dryRun: boolean): string {
  const changed = dryRun ? `would ${verb}` : DONE[verb];
  return (
    `${verb}${dryRun ? ' (dry run)' : ''}: ${progress.matched} matched, ` +
    `${progress.changed} ${changed}, ${progress.unchanged} unchanged, ${progress.skipped} skipped`
  );
}

/** --verbose: "01M….1  changed  held". */
export function progressLine(progress: Progress): string {
  return [progress.id, progress.outcome, progress.detail].filter((part) => part !== '').join('  ');
}

/** "hold [########--------] 12/40" fitted to `width` columns. */
export function progressBar(verb: MutationVerb, progress: Progress, width: number): string {
  const counts = `${progress.done}/${progress.matched}`;
  const room = Math.max(10, Math.min(50, width - verb.length - counts.length - 5));
  const ratio = progress.matched === 0 ? 1 : Math.min(1, progress.done / progress.matched);
  const filled = Math.round(ratio * room);
  return `${verb} [${'#'.repeat(filled)}${'-'.repeat(room - filled)}] ${counts}`;
}
