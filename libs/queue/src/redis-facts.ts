// What Petrel needs to know about a Redis before it may promise durability,
// and the problems that forbid the promise. Services that accept mail refuse
// to start while durabilityProblems() lists anything (SAFETY.md "Durability:
// the 250 after DATA").
//
// The promise per `redis.durability`:
//   none      the 250 means the message is in Redis' memory; a Redis crash
//             may lose it. Still refused: an evicting maxmemory-policy, or a
//             replica (read-only) as the target.
//   fsync     the 250 means the message is in the AOF on disk: appendonly yes,
//             and either WAITAOF 1 0 after the writes (Redis 7.2+) or
//             appendfsync always (the reply comes after the fsync).
//   replicas  fsync, and n replicas have the message too: WAIT n (before
//             7.2), WAITAOF 1 n (7.2+, which asks the replicas' AOF to be
//             fsynced as well, so the replicas need appendonly yes).
//
// Facts come from INFO (version, aof_enabled, maxmemory_policy, role, online
// replicas) and CONFIG GET appendfsync. Managed Redis often renames or forbids
// CONFIG: then appendfsync is 'unknown', and unknown is never taken for fine.
//
// Does not: watch for configuration changes after the check; a CONFIG SET
// that weakens durability while running is not noticed until the next start.

import type { Redis } from 'ioredis';

export type Durability = 'none' | 'fsync' | 'replicas';

export interface RedisFacts {
  /** redis_version from INFO. */
  readonly version: string;
  /** INFO persistence aof_enabled. */
  readonly appendonly: boolean;
  /** CONFIG GET appendfsync; 'unknown' when CONFIG is not available (see configError). */
  readonly appendfsync: string;
  /** INFO memory maxmemory_policy (CONFIG GET as a fallback); 'unknown' when neither says. */
  readonly maxmemoryPolicy: string;
  /** WAITAOF exists (Redis 7.2 and later). */
  readonly waitaof: boolean;
  /** INFO replication role: 'master' (or 'primary') or 'slave'. */
  readonly role: string;
  /** Replicas in state online (those that can acknowledge WAIT). */
  readonly connectedReplicas: number;
  /** Why CONFIG GET failed (renamed, disabled, no permission), or null when it answered. */
  readonly configError: string | null;
}

export async function inspectRedis(redis: Redis): Promise<RedisFacts> {
  const info = parseInfo(String(await redis.info()));
  let configError: string | null = null;
  const config = new Map<string, string>();
  try {
    const reply = (await redis.call('CONFIG', 'GET', 'appendfsync', 'maxmemory-policy')) as unknown;
    for (const [name, value] of configPairs(reply)) config.set(name, value);
  } catch (err) {
    configError = err instanceof Error ? err.message : String(err);
  }
  const version = info.get('redis_version') ?? 'unknown';
  return {
    version,
    appendonly: info.get('aof_enabled') === '1',
    appendfsync: config.get('appendfsync') ?? 'unknown',
    maxmemoryPolicy: info.get('maxmemory_policy') ?? config.get('maxmemory-policy') ?? 'unknown',
    waitaof: versionAtLeast(version, [7, 2]),
    role: info.get('role') ?? 'unknown',
    connectedReplicas: onlineReplicas(info),
    configError,
  };
}

export function durabilityProblems(
  facts: RedisFacts,
  durability: Durability,
  replicas: number,
): string[] {
  const problems: string[] = [];
  if (facts.maxmemoryPolicy !== 'noeviction') {
    problems.push(
      `maxmemory-policy is ${facts.maxmemoryPolicy}: Redis may evict queued mail; set maxmemory-policy noeviction`,
    );
  }
  if (facts.role !== 'master' && facts.role !== 'primary') {
    problems.push(
      `role is ${facts.role}: Petrel must write to the primary; point redis.url at the primary`,
    );
  }
  if (durability === 'none') return problems;

  if (!facts.appendonly) {
    problems.push(
      `appendonly is no: nothing reaches the disk before the 250 (durability ${durability}); set appendonly yes`,
    );
  }
  if (!facts.waitaof && facts.appendfsync !== 'always') {
    const why =
      facts.appendfsync === 'unknown'
        ? `appendfsync is unknown (CONFIG GET failed: ${facts.configError ?? 'no answer'})`
        : `appendfsync is ${facts.appendfsync}`;
    problems.push(
      `${why}: Redis ${facts.version} has no WAITAOF (7.2+), so a message could be acknowledged before it is on disk; ` +
        'set appendfsync always (or use Redis 7.2 or later)',
    );
  }
  if (durability === 'replicas') {
    if (!(replicas >= 1)) {
      problems.push(`redis.replicas is ${replicas}: durability replicas needs at least 1`);
    } else if (facts.connectedReplicas < replicas) {
      problems.push(
        `connected replicas is ${facts.connectedReplicas}: durability replicas waits for ${replicas}; ` +
          `attach ${replicas} online replica${replicas === 1 ? '' : 's'} or lower redis.replicas`,
      );
    }
  }
  return problems;
}

/** INFO text to a map of field -> value (section headers and blank lines skipped). */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

function onlineReplicas(info: Map<string, string>): number {
  let online = 0;
  let listed = false;
  for (const [field, value] of info) {
    if (!/^slave\d+$/.test(field)) continue;
    listed = true;
    if (/(^|,)state=online(,|$)/.test(value)) online++;
  }
  if (listed) return online;
  const connected = Number(info.get('connected_slaves') ?? 0);
  return Number.isFinite(connected) ? connected : 0;
}

/** CONFIG GET's reply: a flat [name, value, ...] array (RESP2, or RESP3 in ioredis' legacy mapping) or a map. */
function configPairs(reply: unknown): [string, string][] {
  if (Array.isArray(reply)) {
    const pairs: [string, string][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2)
      pairs.push([String(reply[i]), String(reply[i + 1])]);
    return pairs;
  }
  if (reply instanceof Map) return [...reply].map(([k, v]) => [String(k), String(v)]);
  if (typeof reply === 'object' && reply !== null) {
    return Object.entries(reply).map(([k, v]) => [k, String(v)]);
  }
  return [];
}

function versionAtLeast(version: string, minimum: readonly number[]): boolean {
  const parts = version.split('.').map((part) => Number.parseInt(part, 10));
  for (let i = 0; i < minimum.length; i++) {
    const have = parts[i] ?? 0;
    const need = minimum[i] ?? 0;
    if (!Number.isFinite(have)) return false;
    if (have !== need) return have > need;
  }
  return true;
}

/**
 * What could lose acknowledged mail in a failover although the durability
 * promise holds now: durability 'replicas' waiting for fewer replicas than
 * are connected. A failover may promote a replica that was not waited for,
 * while the old primary still acknowledges (transaction-store-sentinel.spec.ts
 * measured most of the mail acknowledged during a planned failover lost).
 */
export function failoverRisks(
  facts: RedisFacts,
  durability: Durability,
  replicas: number,
): string[] {
  if (durability !== 'replicas' || facts.connectedReplicas <= replicas) return [];
  return [
    `${facts.connectedReplicas} replicas are connected and durability replicas waits for ${replicas}: ` +
      `a failover to a replica that was not waited for can lose acknowledged mail; set redis.replicas to ${facts.connectedReplicas}`,
  ];
}
