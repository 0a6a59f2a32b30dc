// Whether an entry matches a selector (petrel.admin.v1.Selector): every field
// set must match; a list field matches any of its values. Pure.
//
// Does not: read the queue (entries.ts).

import { ENTRY_STATES, type Entry, type Selector } from '@petrel/proto';

export class SelectorError extends Error {}

/** Throws SelectorError for a selector that cannot be right; `mutation`: an empty one too. */
export function checkSelector(selector: Selector | null, mutation: boolean): Selector {
  if (selector === null) throw new SelectorError('no selector');
  for (const state of selector.states) {
    if (!(ENTRY_STATES as readonly string[]).includes(state))
      throw new SelectorError(`unknown state "${state}": one of ${ENTRY_STATES.join(', ')}`);
  }
  if (mutation && isEmpty(selector) && !selector.all)
    throw new SelectorError('an empty selector matches nothing: name entries, or set `all`');
  return selector;
}

export function isEmpty(s: Selector): boolean {
  return (
    s.ids.length === 0 &&
    s.sender === '' &&
    s.recipient === '' &&
    s.domain === '' &&
    s.nextHop === '' &&
    s.states.length === 0 &&
    s.olderThanSeconds === 0 &&
    s.youngerThanSeconds === 0 &&
    s.lastReply === ''
  );
}

export function matches(entry: Entry, s: Selector, now: number): boolean {
  if (isEmpty(s)) return s.all;
  if (s.ids.length > 0 && !s.ids.some((id) => id === entry.id || id === entry.messageId))
    return false;
  if (s.states.length > 0 && !s.states.includes(entry.state)) return false;
  if (s.sender !== '' && !senderMatches(entry.sender, s.sender)) return false;
  const open = entry.recipients.filter((r) => r.state === 'pending' || r.state === 'deferred');
  if (s.recipient !== '') {
    const wanted = s.recipient.toLowerCase().replace(/^<|>$/g, '');
    if (!open.some((r) => r.address.toLowerCase() === wanted)) return false;
  }
  if (s.domain !== '') {
    const wanted = s.domain.toLowerCase();
    const domains = new Set(open.map((r) => domainOf(r.address)));
    if (entry.domain !== '') domains.add(entry.domain);
    if (!domains.has(wanted)) return false;
  }
  if (s.nextHop !== '') {
    const wanted = s.nextHop.toLowerCase();
    if (
      !entry.nextHops.some((hop) => hop === wanted || hop.slice(0, hop.lastIndexOf(':')) === wanted)
    )
      return false;
  }
  const age = (now - Date.parse(entry.receivedAt)) / 1000;
  if (s.olderThanSeconds > 0 && age < s.olderThanSeconds) return false;
  if (s.youngerThanSeconds > 0 && age > s.youngerThanSeconds) return false;
  if (
    s.lastReply !== '' &&
    !open.some((r) => r.lastReply !== null && replyMatches(r.lastReply, s.lastReply))
  )
    return false;
  return true;
}

function senderMatches(sender: string, wanted: string): boolean {
  if (wanted === '<>') return sender === '';
  const have = sender.toLowerCase();
  const want = wanted.toLowerCase().replace(/^<|>$/g, '');
  return want.startsWith('@') ? have.endsWith(want) : have === want;
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

function replyMatches(
  reply: { code: number; enhanced: string; text: string },
  wanted: string,
): boolean {
  if (/^\d{1,3}$/.test(wanted)) return String(reply.code).startsWith(wanted);
  if (/^\d\.\d{1,3}(\.\d{0,3})?$/.test(wanted))
    return reply.enhanced === wanted || reply.enhanced.startsWith(`${wanted}.`);
  return reply.text.toLowerCase().includes(wanted.toLowerCase());
}
