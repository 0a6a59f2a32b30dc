// The ioredis client for services that must answer their own clients quickly
// whatever Redis does (ingress above all): every command fails fast instead of
// waiting for a connection that may never come back.
//   - enableOfflineQueue false: while disconnected, commands reject at once.
//   - commandTimeout: a command without a reply in time rejects ("Command
//     timed out"); the reply, if it comes later, is discarded.
//   - maxRetriesPerRequest 0 and autoResendUnfulfilledCommands false: a
//     command in flight when the connection drops is rejected, never sent
//     again after the reconnect (a resent job add would store a message whose
//     client was already told 4yz, and was perhaps withdrawn).
//   - reconnects forever, backing off to 2 s; a READONLY reply (the primary
//     was demoted by a failover) reconnects too, so that the next command can
//     reach the new primary through Sentinel or DNS.
//
// `url` is a server's URL or a Sentinel URL (libs/config's redis-url.ts):
// through Sentinel, each (re)connect asks the sentinels for the primary, and
// `failoverDetector` subscribes to their +switch-master, so a failover moves
// the connection to the new primary without waiting for the old one to fail.
//
// A Redis Cluster URL gives a connection to the master serving the slot of
// the caller's prefix (slot-connector.ts), which follows the slot when it
// moves (MOVED, CLUSTERDOWN: reconnect and ask the cluster again).
//
// Does not: attach an 'error' listener (the caller logs connection errors).

import { redisTarget } from '@petrel/config';
import { Redis, type RedisOptions } from 'ioredis';
import { hashSlot } from './hash-slot.js';
import { isSlotMoved, SlotConnector } from './slot-connector.js';

/** Errors after which the connection reconnects (and, through Sentinel or Cluster, asks where to). */
function reconnectAfter(err: Error): boolean {
  return err.message.startsWith('READONLY') || isSlotMoved(err);
}

/**
 * A client for `url` (a server's, a Sentinel or a Cluster URL) with
 * `options`; `prefix` (hash-tagged) picks a Cluster's master.
 */
function connectTo(url: string, options: RedisOptions, prefix: string | undefined): Redis {
  const target = redisTarget(url);
  if (target.kind === 'server') return new Redis(url, options);
  if (target.kind === 'cluster') {
    if (prefix === undefined)
      throw new Error('a redis+cluster:// connection needs the prefix whose slot it serves');
    const slot = hashSlot(prefix);
    const cluster = target;
    return new Redis({
      Connector: class extends SlotConnector {
        constructor(o: unknown) {
          super(o as { disconnectTimeout?: number; connectTimeout?: number }, cluster, slot);
        }
      },
      ...(target.username !== undefined ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
      ...options,
    });
  }
  const { sentinels, name, username, password, sentinelPassword, db, tls } = target;
  return new Redis({
    sentinels: sentinels.map((s) => ({ ...s })),
    name,
    failoverDetector: true,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(sentinelPassword !== undefined ? { sentinelPassword } : {}),
    ...(db !== undefined ? { db } : {}),
    ...(tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    ...options,
  });
}

export interface CreateRedisOptions {
  /** Longest wait for any one reply, in ms. */
  readonly commandTimeoutMs: number;
  /** CLIENT SETNAME, to find the connection in CLIENT LIST. */
  readonly name: string;
  /** The keys' prefix: on Redis Cluster, its hash tag's slot picks the master. */
  readonly prefix?: string;
}

export function createRedis(url: string, options: CreateRedisOptions): Redis {
  return connectTo(
    url,
    {
      connectionName: options.name,
      enableOfflineQueue: false,
      commandTimeout: options.commandTimeoutMs,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: Math.max(2_000, options.commandTimeoutMs),
      keepAlive: 10_000,
      retryStrategy: (times) =>
        Math.min(50 * 2 ** Math.min(times, 6), 2_000) + Math.floor(Math.random() * 50),
      reconnectOnError: (err) => (reconnectAfter(err) ? 1 : false),
    },
    options.prefix,
  );
}

/** Resolves when the client is ready; rejects after timeoutMs or when the client ends. */
export function whenReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  if (redis.status === 'end') return Promise.reject(new Error('Redis client is closed'));
  if (redis.status === 'wait') redis.connect().catch(() => undefined);
  return new Promise((resolve, reject) => {
    let lastError: Error | null = null;
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      redis.off('end', onEnd);
    };
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      lastError = err;
    };
    const onEnd = (): void => {
      cleanup();
      reject(
        new Error(
          `Redis client closed before it was ready${lastError ? `: ${lastError.message}` : ''}`,
        ),
      );
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(
          `Redis not ready after ${timeoutMs} ms${lastError ? `: ${lastError.message}` : ''}`,
        ),
      );
    }, timeoutMs);
    redis.on('ready', onReady);
    redis.on('error', onError);
    redis.on('end', onEnd);
  });
}

/**
 * The connection of a BullMQ Worker (routing, egress): BullMQ requires
 * maxRetriesPerRequest null for its blocking commands, and a worker may wait
 * for Redis instead of failing: nobody is waiting on a socket for its answer.
 * Commands that change state outside BullMQ's own scripts (a routing commit)
 * go through a createRedis() connection, which never resends.
 */
export function createWorkerRedis(
  url: string,
  options: { readonly name: string; readonly prefix?: string },
): Redis {
  return connectTo(
    url,
    {
      connectionName: options.name,
      maxRetriesPerRequest: null,
      keepAlive: 10_000,
      retryStrategy: (times) =>
        Math.min(50 * 2 ** Math.min(times, 6), 2_000) + Math.floor(Math.random() * 50),
      reconnectOnError: (err) => (reconnectAfter(err) ? 1 : false),
    },
    options.prefix,
  );
}
