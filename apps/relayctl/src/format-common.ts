// Small formatting pieces every view shares. Pure.

import type { AdminReply, Entry } from '@petrel/proto';

/** A reverse-path or forward-path for people: "<>" for the null sender. */
export function formatSender(sender: string): string {
  return sender === '' ? '<>' : sender;
}

/** "451 4.3.0 Try again later"; missing parts left out. */
export function formatReply(reply: {
  readonly code?: number | null;
  readonly enhanced?: string | null;
  readonly text?: string | null;
}): string {
  return [reply.code ? String(reply.code) : '', reply.enhanced ?? '', (reply.text ?? '').trim()]
    .filter((part) => part !== '')
    .join(' ');
}

/** The most recent last reply among the entry's recipients (open ones first), or null. */
export function lastReplyOf(entry: Entry): AdminReply | null {
  const open = entry.recipients.filter((r) => r.state === 'pending' || r.state === 'deferred');
  for (const group of [open, entry.recipients]) {
    let best: AdminReply | null = null;
    for (const recipient of group) {
      const reply = recipient.lastReply;
      if (reply === null) continue;
      if (best === null || reply.at > best.at) best = reply;
    }
    if (best !== null) return best;
  }
  return null;
}

/** "x@a.test", "x@a.test +2". */
export function formatRecipients(entry: Entry): string {
  const [first] = entry.recipients;
  if (first === undefined) return '-';
  const more = entry.recipients.length - 1;
  return more > 0 ? `${first.address} +${more}` : first.address;
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** 1234567 → "1,234,567". */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
