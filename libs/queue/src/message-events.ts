// A message's history, kept in Redis so that "where is my message?" can be
// answered after the pods that did the work are gone: one stream per message
// (<prefix>:events:<message id>), one entry per event, each a JSON object with
// at least the event name, the service and process that recorded it, and when.
// Bounded in size (the newest EVENTS_PER_MESSAGE, approximately) and in age
// (EVENTS_TTL_SECONDS after the last event).
//
// Events are recorded in the same MULTI as the state they describe (ingress's
// store, routing's commit, egress's attempt commit); the few recorded on their
// own (recordEvent) never delay the mail they describe: a lost event never
// loses mail.
//
// Does not: log (each service writes the same event as a pino line itself),
// or decide which events exist (the services do; docs/operations.md lists them).

import type { ChainableCommander, Redis } from 'ioredis';
import { queueStats, type StatName } from './queue-stats.js';

export const EVENTS_PER_MESSAGE = 256;
export const EVENTS_TTL_SECONDS = 30 * 24 * 3600;

export interface MessageEvent {
  /** received, routed, attempt, ... */
  readonly event: string;
  readonly service: string;
  /** The process (host:pid or pod). */
  readonly instance: string;
  /** ISO 8601. */
  readonly at: string;
  readonly [field: string]: unknown;
}

export function eventsKey(prefix: string, messageId: string): string {
  return `${prefix}:events:${messageId}`;
}

/** Queues the event's XADD and the key's expiry in a pipeline or a MULTI. */
export function queueEvent(
  commands: ChainableCommander,
  prefix: string,
  messageId: string,
  event: MessageEvent,
): void {
  const key = eventsKey(prefix, messageId);
  commands.xadd(key, 'MAXLEN', '~', EVENTS_PER_MESSAGE, '*', 'e', JSON.stringify(event));
  commands.expire(key, EVENTS_TTL_SECONDS);
}

/**
 * Records one event now, outside any MULTI, with the cluster counters it
 * moves (queue-stats.ts); never rejects (a lost event loses no mail).
 */
export async function recordEvent(
  redis: Redis,
  prefix: string,
  messageId: string,
  event: MessageEvent,
  stats: Partial<Record<StatName, number>> = {},
): Promise<void> {
  const pipeline = redis.pipeline();
  queueEvent(pipeline, prefix, messageId, event);
  queueStats(pipeline, prefix, stats);
  await pipeline.exec().catch(() => undefined);
}

/** The message's events, oldest first. */
export async function readEvents(
  redis: Redis,
  prefix: string,
  messageId: string,
): Promise<MessageEvent[]> {
  const entries = await redis.xrange(eventsKey(prefix, messageId), '-', '+');
  return entries.flatMap(([, fields]) => {
    const at = fields.indexOf('e');
    return at < 0 ? [] : [JSON.parse(fields[at + 1]!) as MessageEvent];
  });
}

/**
 * The event as a log line's fields: the message id added, and `service` left
 * out (the logger's own base field already says it).
 */
export function eventLogFields(messageId: string, event: MessageEvent): Record<string, unknown> {
  const { service: _service, ...fields } = event;
  return { ...fields, id: messageId };
}
