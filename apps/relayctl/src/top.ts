// `relayctl top`'s frame, from two samples of Status and Summary: rates from
// the counters' deltas, the queue by state, the busiest destinations. Sized
// to the terminal. Pure: cli.ts samples, draws and reads the keys.

import {
  ENTRY_STATES,
  type DomainRow,
  type StatusResponse,
  type SummaryResponse,
} from '@petrel/proto';
import { formatAge, secondsSince } from './duration.js';
import { formatBytes } from './format-common.js';
import { renderTable, truncate } from './table.js';

export interface TopSample {
  readonly status: StatusResponse;
  readonly summary: SummaryResponse;
  /** The local clock when the sample was taken. */
  readonly atMs: number;
}

/** The counters shown as rates, in order: messages in, recipients out. */
export const RATE_COUNTERS = ['accepted', 'delivered', 'deferred', 'bounced'] as const;

function counter(sample: TopSample, name: string): number | null {
  return sample.status.counters.find((c) => c.name === name)?.value ?? null;
}

function sampleTime(sample: TopSample): number {
  const server = Date.parse(sample.status.at);
  return Number.isNaN(server) ? sample.atMs : server;
}

/** Per second between the two samples, by counter; null when there is no earlier sample. */
export function counterRates(
  previous: TopSample | null,
  current: TopSample,
): Map<string, number | null> | null {
  if (previous === null) return null;
  let seconds = (sampleTime(current) - sampleTime(previous)) / 1000;
  if (!(seconds > 0)) seconds = (current.atMs - previous.atMs) / 1000;
  const rates = new Map<string, number | null>();
  for (const name of RATE_COUNTERS) {
    const before = counter(previous, name);
    const after = counter(current, name);
    rates.set(
      name,
      before === null || after === null || after < before || !(seconds > 0)
        ? null
        : (after - before) / seconds,
    );
  }
  return rates;
}

export interface FrameOptions {
  readonly width: number;
  readonly height: number;
  readonly intervalMs: number;
  readonly nowMs: number;
  /** The last sampling failed: shown under the header. */
  readonly error?: string | null;
  /** Say how to quit (the live view). */
  readonly live?: boolean;
}

/** "<5m" for the youngest bucket holding entries, ... ">1280m" for the last. */
export function oldestBucket(row: DomainRow, bucketMinutes: readonly number[]): string {
  for (let i = row.buckets.length - 1; i >= 0; i--) {
    if ((row.buckets[i] ?? 0) === 0) continue;
    const bound = bucketMinutes[i];
    return bound === undefined ? `>${bucketMinutes[bucketMinutes.length - 1] ?? 0}m` : `<${bound}m`;
  }
  return '-';
}

function rate(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function headerLine(current: TopSample | null, options: FrameOptions): string {
  const clock = new Date(options.nowMs).toISOString().slice(11, 19);
  const parts = [`petrel top  ${clock}Z`];
  if (current !== null) {
    const services = current.status.services;
    const up = services.filter((s) => s.health === 'up');
    const byService = new Map<string, number>();
    for (const s of up) byService.set(s.service, (byService.get(s.service) ?? 0) + 1);
    const names = [...byService]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([n, c]) => `${n} ${c}`);
    parts.push(
      `services ${up.length}/${services.length} up${names.length > 0 ? ` (${names.join(', ')})` : ''}`,
    );
  }
  if (options.live) parts.push(`every ${formatAge(options.intervalMs / 1000)}, q quits`);
  return parts.join('   ');
}

export function renderTopFrame(
  current: TopSample | null,
  previous: TopSample | null,
  options: FrameOptions,
): string[] {
  const width = Math.max(20, options.width);
  const height = Math.max(5, options.height);
  const lines: string[] = [headerLine(current, options)];
  if (options.error) lines.push(`! ${options.error}`);
  if (current === null) return fit(lines, width, height);

  const rates = counterRates(previous, current);
  lines.push(
    '',
    `RATES/s  in: accepted ${rate(rates?.get('accepted'))}   out: delivered ${rate(rates?.get('delivered'))}` +
      `   deferred ${rate(rates?.get('deferred'))}   bounced ${rate(rates?.get('bounced'))}`,
  );
  const { summary, status } = current;
  const known = ENTRY_STATES as readonly string[];
  const states = [
    ...known.map((state) => ({
      state,
      entries: summary.states.find((s) => s.state === state)?.entries ?? 0,
    })),
    ...summary.states.filter((s) => !known.includes(s.state)),
  ];
  const total = states.reduce((sum, s) => sum + s.entries, 0);
  const oldest =
    summary.oldestReceivedAt === ''
      ? ''
      : `  oldest ${formatAge(secondsSince(summary.oldestReceivedAt, options.nowMs))}`;
  lines.push(
    `QUEUE    ${states.map((s) => `${s.state} ${s.entries}`).join('  ')}  total ${total}${oldest}`,
  );
  const redis = status.redis;
  if (redis !== null)
    lines.push(
      `REDIS    ${redis.version} ${redis.role}   ${formatBytes(redis.usedMemory)}` +
        `${redis.maxmemory > 0 ? ` of ${formatBytes(redis.maxmemory)}` : ''}` +
        `   aof ${redis.aofEnabled ? redis.appendfsync || 'on' : 'off'}`,
    );
  lines.push('');

  const room = height - lines.length - 1; // the table's header
  const domains = [...summary.domains].sort(
    (a, b) => b.total - a.total || a.domain.localeCompare(b.domain),
  );
  if (domains.length === 0 || room < 1) {
    if (room >= 0) lines.push('no entries in the queue');
    return fit(lines, width, height);
  }
  const shown = domains.length > room ? domains.slice(0, room - 1) : domains;
  const rest = domains.slice(shown.length);
  const most = Math.max(1, ...shown.map((d) => d.total));
  const rows = shown.map((d) => [
    d.domain,
    String(d.total),
    String(d.deferred),
    oldestBucket(d, summary.bucketMinutes),
  ]);
  if (rest.length > 0)
    rows.push([
      `… ${rest.length} more`,
      String(rest.reduce((sum, d) => sum + d.total, 0)),
      String(rest.reduce((sum, d) => sum + d.deferred, 0)),
      '',
    ]);
  const table = renderTable(
    [
      { header: 'DESTINATION' },
      { header: 'ENTRIES', align: 'right' },
      { header: 'DEFERRED', align: 'right' },
      { header: 'OLDEST', align: 'right' },
    ],
    rows,
  );
  const tableWidth = Math.max(...table.map((line) => line.length));
  const barRoom = width - tableWidth - 2;
  lines.push(
    ...table.map((line, i) => {
      const domain = shown[i - 1];
      if (barRoom < 10 || domain === undefined) return line;
      const bar = '#'.repeat(Math.max(1, Math.round((domain.total / most) * barRoom)));
      return `${line.padEnd(tableWidth)}  ${bar}`;
    }),
  );
  return fit(lines, width, height);
}

function fit(lines: readonly string[], width: number, height: number): string[] {
  return lines.slice(0, height).map((line) => truncate(line, width));
}
