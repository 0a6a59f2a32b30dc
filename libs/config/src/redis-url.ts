// What `redis.url` names: one server (redis:// or rediss://, which ioredis
// reads itself), or the primary that a group of Redis Sentinels names:
//
//   redis+sentinel://[[user]:password@]host:port[,host:port...]/master-name[?db=N&sentinelPassword=P]
//   rediss+sentinel://...   TLS to the sentinels and to the primary
//
// The password (and user) are the primary's; sentinels that require a
// password take `sentinelPassword`.
//
// Or a Redis Cluster, named by some of its nodes (the seeds):
//
//   redis+cluster://[[user]:password@]host:port[,host:port...][/]
//   rediss+cluster://...    TLS to every node
//
// Petrel keeps all of a prefix's keys in one hash slot ({petrel}), so a
// connection works with one master: the one serving that slot (libs/queue's
// slot-connector.ts). Cluster has no databases: no db.
//
// Does not: connect (libs/queue's redis-client does).

export interface SentinelTarget {
  readonly kind: 'sentinel';
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  /** The master name the sentinels monitor. */
  readonly name: string;
  readonly username?: string;
  readonly password?: string;
  readonly sentinelPassword?: string;
  readonly db?: number;
  /** rediss+sentinel: TLS to the sentinels and the primary. */
  readonly tls: boolean;
}

export interface ClusterTarget {
  readonly kind: 'cluster';
  /** Nodes asked which master serves a slot; the cluster's own list is learnt from them. */
  readonly seeds: readonly { readonly host: string; readonly port: number }[];
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
}

export type RedisTarget =
  { readonly kind: 'server'; readonly url: string } | SentinelTarget | ClusterTarget;

const SENTINEL_URL =
  /^(rediss?)\+sentinel:\/\/(?:([^@/]*)@)?([^/?#]+)\/([^/?#]+)\/?(?:\?([^#]*))?$/;

/** How a Sentinel URL is written (the messages' "expected"). */
export const SENTINEL_URL_FORM = 'redis+sentinel://host:port[,host:port...]/master-name';

/** Whether `url` asks for Sentinel (redis+sentinel: or rediss+sentinel:). */
export function isSentinelUrl(url: string): boolean {
  return /^rediss?\+sentinel:/.test(url);
}

/** The target of a Sentinel URL, or why it is not one this module reads. */
export function parseSentinelUrl(url: string): SentinelTarget | { problem: string } {
  const m = SENTINEL_URL.exec(url);
  if (m === null) return { problem: 'a host:port list and a master name' };
  const [, scheme, auth, addresses, name, search] = m;
  const sentinels = [];
  for (const text of addresses!.split(',')) {
    const address = parseAddress(text);
    if (address === undefined) return { problem: `"${text}" is not host:port` };
    sentinels.push(address);
  }
  const query = new URLSearchParams(search ?? '');
  for (const key of query.keys())
    if (key !== 'db' && key !== 'sentinelPassword')
      return { problem: `unknown parameter "${key}" (db, sentinelPassword)` };
  const db = query.get('db');
  if (db !== null && !/^\d+$/.test(db)) return { problem: `db must be a number, got "${db}"` };
  const { username, password } = credentials(auth);
  const sentinelPassword = query.get('sentinelPassword');
  return {
    kind: 'sentinel',
    sentinels,
    name: decodeURIComponent(name!),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(sentinelPassword !== null ? { sentinelPassword } : {}),
    ...(db !== null ? { db: Number(db) } : {}),
    tls: scheme === 'rediss',
  };
}

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/;

/** How a Cluster URL is written (the messages' "expected"). */
export const CLUSTER_URL_FORM = 'redis+cluster://host:port[,host:port...]';

/** Whether `url` asks for Redis Cluster (redis+cluster: or rediss+cluster:). */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:/.test(url);
}

/** The target of a Cluster URL, or why it is not one this module reads. */
export function parseClusterUrl(url: string): ClusterTarget | { problem: string } {
  const m = CLUSTER_URL.exec(url);
  if (m === null) return { problem: 'a host:port list, and nothing after it' };
  const [, scheme, auth, addresses] = m;
  const seeds = [];
  for (const text of addresses!.split(',')) {
    const address = parseAddress(text);
    if (address === undefined) return { problem: `"${text}" is not host:port` };
    seeds.push(address);
  }
  const { username, password } = credentials(auth);
  return {
    kind: 'cluster',
    seeds,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    tls: scheme === 'rediss',
  };
}

function credentials(auth: string | undefined): { username?: string; password?: string } {
  if (auth === undefined) return {};
  const colon = auth.indexOf(':');
  const username = decodeURIComponent(colon === -1 ? auth : auth.slice(0, colon));
  return {
    ...(username !== '' ? { username } : {}),
    ...(colon !== -1 ? { password: decodeURIComponent(auth.slice(colon + 1)) } : {}),
  };
}

/** The target of a `redis.url` that the configuration accepted; throws on a bad Sentinel or Cluster URL. */
export function redisTarget(url: string): RedisTarget {
  if (isClusterUrl(url)) {
    const target = parseClusterUrl(url);
    if ('problem' in target) throw new Error(`redis.url: ${target.problem}`);
    return target;
  }
  if (!isSentinelUrl(url)) return { kind: 'server', url };
  const target = parseSentinelUrl(url);
  if ('problem' in target) throw new Error(`redis.url: ${target.problem}`);
  return target;
}

function parseAddress(text: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
