// Which service processes are alive, for `relayctl status`: each process
// writes its record in one hash (<prefix>:presence, field = instance) every
// 10 s, and removes it when it stops. A record not refreshed for 30 s is
// "stale" (the process died or lost Redis); one older than a day is dropped
// by the reader.
//
// Does not: decide health (the metrics port's /readyz does), or expire
// fields (Redis hashes cannot): readers prune.

import type { Redis } from 'ioredis';

export const PRESENCE_EVERY_MS = 10_000;
export const PRESENCE_STALE_MS = 30_000;
const PRESENCE_DROP_MS = 24 * 3600_000;

export interface PresenceRecord {
  readonly service: string;
  readonly instance: string;
  readonly version: string;
  /** ISO 8601. */
  readonly startedAt: string;
  /** ISO 8601. */
  readonly seenAt: string;
  /** ready, draining. */
  readonly state: string;
}

export function presenceKey(prefix: string): string {
  return `${prefix}:presence`;
}

export interface Presence {
  /** Writes the record now (and every 10 s): call on start and on a state change. */
  report(state: string): Promise<void>;
  /** Stops reporting and removes the record. */
  stop(): Promise<void>;
}

export function startPresence(
  redis: Redis,
  prefix: string,
  who: { service: string; instance: string; version: string },
): Presence {
  const startedAt = new Date().toISOString();
  let state = 'ready';
  const write = async () => {
    const record: PresenceRecord = { ...who, startedAt, seenAt: new Date().toISOString(), state };
    await redis.hset(presenceKey(prefix), who.instance, JSON.stringify(record)).catch(() => 0);
  };
  const timer = setInterval(() => void write(), PRESENCE_EVERY_MS);
  timer.unref();
  void write();
  return {
    async report(next) {
      state = next;
      await write();
    },
    async stop() {
      clearInterval(timer);
      await redis.hdel(presenceKey(prefix), who.instance).catch(() => 0);
    },
  };
}

/** Every record seen in the last day, by service then instance; older ones are removed. */
export async function readPresence(
  redis: Redis,
  prefix: string,
  now = Date.now(),
): Promise<PresenceRecord[]> {
  const all = await redis.hgetall(presenceKey(prefix));
  const records: PresenceRecord[] = [];
  const dropped: string[] = [];
  for (const [instance, text] of Object.entries(all)) {
    let record: PresenceRecord | null = null;
    try {
      record = JSON.parse(text) as PresenceRecord;
    } catch {
      record = null;
    }
    if (record === null || now - Date.parse(record.seenAt) > PRESENCE_DROP_MS)
      dropped.push(instance);
    else records.push(record);
  }
  if (dropped.length > 0) await redis.hdel(presenceKey(prefix), ...dropped);
  return records.sort(
    (a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance),
  );
}
