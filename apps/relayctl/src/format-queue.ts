// `relayctl queue`: entries by state, and the qshape view (destination
// domains by age bucket). Pure.

import { ENTRY_STATES, type DomainRow, type SummaryResponse } from '@petrel/proto';
import { formatAge, secondsSince } from './duration.js';
import { renderTable, type Column } from './table.js';

/** Column headers of the age buckets: each upper bound, then the last one "+". */
export function bucketHeaders(bucketMinutes: readonly number[]): string[] {
  const last = bucketMinutes[bucketMinutes.length - 1];
  return [...bucketMinutes.map(String), ...(last === undefined ? [] : [`${last}+`])];
}

/** The states in their usual order (any the server adds after them), with a total. */
export function stateRows(summary: SummaryResponse): string[][] {
  const known = ENTRY_STATES as readonly string[];
  const states = [
    ...known.map(
      (state) =>
        summary.states.find((s) => s.state === state) ?? { state, entries: 0, recipients: 0 },
    ),
    ...summary.states.filter((s) => !known.includes(s.state)),
  ];
  const total = states.reduce(
    (sum, s) => ({ entries: sum.entries + s.entries, recipients: sum.recipients + s.recipients }),
    { entries: 0, recipients: 0 },
  );
  return [
    ...states.map((s) => [s.state, String(s.entries), String(s.recipients)]),
    ['total', String(total.entries), String(total.recipients)],
  ];
}

function sumRows(domain: string, rows: readonly DomainRow[], buckets: number): DomainRow {
  return {
    domain,
    total: rows.reduce((sum, row) => sum + row.total, 0),
    buckets: Array.from({ length: buckets }, (_, i) =>
      rows.reduce((sum, row) => sum + (row.buckets[i] ?? 0), 0),
    ),
    deferred: rows.reduce((sum, row) => sum + row.deferred, 0),
  };
}

/** The qshape rows: TOTAL, the `limit` domains with most entries (0: all), then "…" for the rest. */
export function qshapeRows(summary: SummaryResponse, limit: number): DomainRow[] {
  const buckets = summary.bucketMinutes.length + 1;
  const sorted = [...summary.domains].sort(
    (a, b) => b.total - a.total || a.domain.localeCompare(b.domain),
  );
  const shown = limit > 0 ? sorted.slice(0, limit) : sorted;
  const rest = sorted.slice(shown.length);
  return [
    sumRows('TOTAL', sorted, buckets),
    ...shown,
    ...(rest.length > 0 ? [sumRows(`… ${rest.length} more`, rest, buckets)] : []),
  ];
}

export function formatQueue(
  summary: SummaryResponse,
  options: { readonly limit: number; readonly nowMs: number },
): string {
  const lines = renderTable(
    [
      { header: 'STATE' },
      { header: 'ENTRIES', align: 'right' },
      { header: 'RECIPIENTS', align: 'right' },
    ],
    stateRows(summary),
  );
  if (summary.oldestReceivedAt !== '')
    lines.push(
      '',
      `oldest entry received ${summary.oldestReceivedAt} (${formatAge(secondsSince(summary.oldestReceivedAt, options.nowMs))} ago)`,
    );
  const headers = bucketHeaders(summary.bucketMinutes);
  const columns: Column[] = [
    { header: 'DOMAIN' },
    { header: 'T', align: 'right' },
    ...headers.map((header): Column => ({ header, align: 'right' })),
    { header: 'DEFERRED', align: 'right' },
  ];
  const rows = qshapeRows(summary, options.limit).map((row) => [
    row.domain,
    String(row.total),
    ...headers.map((_, i) => String(row.buckets[i] ?? 0)),
    String(row.deferred),
  ]);
  lines.push(
    '',
    'entries by destination domain and age in minutes (DEFERRED: recipients deferred at least once)',
    ...renderTable(columns, rows),
  );
  return `${lines.join('\n')}\n`;
}
