// `relayctl list`, `show` and `trace`: entries and one message's story. Pure.

import type { AdminEvent, Entry, ShowResponse, TraceResponse } from '@petrel/proto';
import { formatAge, relativeTime, secondsSince } from './duration.js';
import {
  formatBytes,
  formatRecipients,
  formatReply,
  formatSender,
  lastReplyOf,
} from './format-common.js';
import { renderFields, renderTable } from './table.js';

export interface ViewOptions {
  readonly nowMs: number;
  /** Terminal columns: list cuts the last reply to fit; undefined: never cut. */
  readonly width?: number;
}

export function formatList(entries: readonly Entry[], options: ViewOptions): string {
  const rows = entries.map((entry) => {
    const reply = lastReplyOf(entry);
    return [
      entry.id,
      entry.state,
      formatAge(secondsSince(entry.receivedAt, options.nowMs)),
      formatSender(entry.sender),
      formatRecipients(entry),
      entry.domain === '' ? '-' : entry.domain,
      String(entry.attempts),
      relativeTime(entry.nextAttemptAt, options.nowMs),
      reply === null ? '-' : formatReply(reply),
    ];
  });
  const lines = renderTable(
    [
      { header: 'ID' },
      { header: 'STATE' },
      { header: 'AGE', align: 'right' },
      { header: 'FROM' },
      { header: 'TO' },
      { header: 'DOMAIN' },
      { header: 'ATTEMPTS', align: 'right' },
      { header: 'NEXT' },
      { header: 'LAST REPLY', flex: true, min: 12 },
    ],
    rows,
    options.width === undefined ? {} : { width: options.width },
  );
  return `${lines.join('\n')}\n`;
}

function when(iso: string, nowMs: number): string {
  if (iso === '') return '-';
  return `${iso} (${relativeTime(iso, nowMs)})`;
}

function entryBlock(entry: Entry, options: ViewOptions): string[] {
  const route =
    entry.domain === ''
      ? 'not routed yet'
      : `${entry.domain}${entry.transport === '' ? '' : ` (transport map: ${entry.transport})`}`;
  const fields: [string, string][] = [
    ['state', `${entry.state} (queue ${entry.queue})`],
    [
      'from',
      `<${entry.sender}>${entry.parameters.length > 0 ? ` ${entry.parameters.join(' ')}` : ''}`,
    ],
    ['received', when(entry.receivedAt, options.nowMs)],
    ['size', formatBytes(entry.size)],
    ['origin', entry.origin === 'dsn' ? 'a DSN Petrel made' : entry.origin || 'smtp'],
    ['domain', route],
    ['next hops', entry.nextHops.length === 0 ? '-' : entry.nextHops.join(', ')],
    ['attempts', String(entry.attempts)],
    ['next attempt', when(entry.nextAttemptAt, options.nowMs)],
  ];
  if (entry.failedReason !== '') fields.push(['failed', entry.failedReason]);
  const recipients = renderTable(
    [{ header: 'RECIPIENT' }, { header: 'STATE' }, { header: 'LAST REPLY' }],
    entry.recipients.map((r) => {
      const reply = r.lastReply;
      const said =
        reply === null
          ? '-'
          : `${formatReply(reply)} (${[
              reply.synthetic ? 'by Petrel' : '',
              reply.host,
              reply.at === '' ? '' : relativeTime(reply.at, options.nowMs),
            ]
              .filter((part) => part !== '')
              .join(', ')})`;
      const address =
        r.expandedFrom === '' ? r.address : `${r.address} (from list ${r.expandedFrom})`;
      return [address, r.state, said];
    }),
    { indent: 4 },
  );
  return [`entry ${entry.id}`, ...renderFields(fields), '  recipients', ...recipients];
}

export function formatShow(show: ShowResponse, options: ViewOptions): string {
  const client = [
    show.receivedFrom === '' ? '' : `client ${show.receivedFrom}`,
    show.helo === '' ? '' : `HELO ${show.helo}`,
    show.tls === '' ? 'no TLS' : `TLS ${show.tls}`,
    show.auth === '' ? '' : `AUTH ${show.auth}`,
  ].filter((part) => part !== '');
  const received = show.entries[0]?.receivedAt ?? '';
  const fields: [string, string][] = [];
  if (received !== '') fields.push(['received', when(received, options.nowMs)]);
  if (show.receivedFrom !== '' || show.helo !== '') fields.push(['from', client.join(', ')]);
  if (show.ingress !== '') fields.push(['ingress', show.ingress]);
  fields.push([
    'body',
    show.bodyStored
      ? `stored, needed by ${show.bodyRefs} ${show.bodyRefs === 1 ? 'entry' : 'entries'}`
      : 'not stored (delivered, bounced or deleted)',
  ]);
  const lines = [`message ${show.messageId}`, ...renderFields(fields)];
  if (show.entries.length === 0)
    lines.push('', 'No entry is left in the queue: see relayctl trace for what happened.');
  for (const entry of show.entries) lines.push('', ...entryBlock(entry, options));
  return `${lines.join('\n')}\n`;
}

type Json = Record<string, unknown>;

function str(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function replyOf(value: unknown): string {
  if (typeof value !== 'object' || value === null) return str(value);
  const reply = value as { code?: number; enhanced?: string | null; text?: string };
  return formatReply(reply);
}

/** key=value for each field given, quoting values with spaces. */
function pairs(fields: readonly (readonly [string, unknown])[]): string {
  return fields
    .map(([key, value]) => [key, Array.isArray(value) ? value.map(str).join(',') : str(value)])
    .filter(([, value]) => value !== '')
    .map(([key, value]) => `${key}=${/[\s"]/.test(value!) ? JSON.stringify(value) : value}`)
    .join(' ');
}

const COMMON = new Set(['event', 'service', 'instance', 'at']);

/** The important fields of one event, in a line. */
export function eventDetails(event: AdminEvent): string {
  let json: Json;
  try {
    json = JSON.parse(event.json) as Json;
  } catch {
    return event.json;
  }
  switch (event.event) {
    case 'received':
      return pairs([
        ['client', json['client']],
        ['helo', json['helo']],
        ['tls', json['tls']],
        ['auth', json['auth']],
        ['from', `<${str(json['from']).replace(/^<|>$/g, '')}>`],
        ['to', list(json['to'])],
        ['size', json['size']],
      ]);
    case 'routed': {
      const parts: string[] = [];
      for (const d of list(json['deliveries']) as Json[])
        parts.push(
          `${str(d['id'])} → ${list(d['hops']).map(str).join(',')} for ${list(d['recipients']).map(str).join(',')}`,
        );
      const held = list(json['held']);
      if (held.length > 0)
        parts.push(
          `held ${held.map((h) => (typeof h === 'object' && h !== null ? str((h as Json)['id']) : str(h))).join(',')}`,
        );
      for (const key of ['bounced', 'deferred'] as const)
        for (const r of list(json[key]) as Json[])
          parts.push(`${key} ${str(r['to'])}: ${replyOf(r['reply'])}`);
      if (str(json['retryAt']) !== '') parts.push(`routed again at ${str(json['retryAt'])}`);
      if (str(json['dsn']) !== '') parts.push(`DSN ${str(json['dsn'])}`);
      return parts.join('; ');
    }
    case 'attempt': {
      const parts = [`${str(json['delivery'])} attempt ${str(json['attempt'])}`];
      for (const r of list(json['recipients']) as Json[])
        parts.push(
          `${str(r['to'])} ${str(r['state'])}: ${replyOf(r['reply'])}${hostOf(r['reply'])}`,
        );
      if (str(json['nextAttemptAt']) !== '')
        parts.push(`next attempt ${str(json['nextAttemptAt'])}`);
      if (str(json['dsn']) !== '') parts.push(`DSN ${str(json['dsn'])}`);
      return parts.join('; ');
    }
    case 'delivered':
    case 'deferred':
    case 'bounced':
      // egress's summary of an attempt (routing's "bounced" by an operator has no delivery).
      if (typeof json['delivery'] === 'string') {
        const parts = [`${json['delivery']}: ${list(json['recipients']).map(str).join(',')}`];
        if (str(json['nextAttemptAt']) !== '')
          parts.push(`next attempt ${str(json['nextAttemptAt'])}`);
        if (str(json['dsn']) !== '') parts.push(`DSN ${str(json['dsn'])}`);
        return parts.join('; ');
      }
      return pairs(Object.entries(json).filter(([key]) => !COMMON.has(key)));
    default:
      return pairs(Object.entries(json).filter(([key]) => !COMMON.has(key)));
  }
}

function hostOf(reply: unknown): string {
  if (typeof reply !== 'object' || reply === null) return '';
  const host = (reply as Json)['host'];
  return typeof host === 'string' && host !== '' ? ` (${host})` : '';
}

/** One line per event, never cut: the replies are what one reads a trace for. */
export function formatTrace(trace: TraceResponse): string {
  const lines = renderTable(
    [
      { header: 'TIME' },
      { header: 'SERVICE' },
      { header: 'INSTANCE' },
      { header: 'EVENT' },
      { header: 'DETAILS' },
    ],
    trace.events.map((event) => [
      event.at,
      event.service,
      event.instance,
      event.event,
      eventDetails(event),
    ]),
  );
  return `message ${trace.messageId}\n${lines.join('\n')}\n`;
}
