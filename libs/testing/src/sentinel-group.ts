// A Redis Sentinel group owned by the test: a primary and its replicas
// (spawnRedis, AOF with appendfsync always), and three sentinels (the same
// redis-server binary with --sentinel) monitoring the primary under one
// master name, quorum 2, down-after 1 s. All on 127.0.0.1, free ports.
//
// `url` is the redis+sentinel:// URL that Petrel's redis.url takes.
// failover() asks a sentinel for SENTINEL FAILOVER (no vote: the test's
// planned failover) and resolves once every sentinel names the new primary
// and it answers as master; killPrimary() crashes the primary instead, for
// the sentinels to notice and elect (the unplanned one).
//
// Does not: authenticate, use TLS, or survive the test process (the
// sentinels' pid files are watched by pid-watchdog.ts; the servers have
// their own watchdogs).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { askRedis as ask, pollUntil } from './redis-ask.js';
import { freePort } from './free-port.js';
import { unwatchPids, watchPids } from './pid-watchdog.js';
import type { RedisHandle } from './redis-handle.js';
import { spawnRedis } from './redis-process.js';

export interface SentinelGroupOptions {
  /** Replicas besides the primary; default 1. */
  readonly replicas?: number;
  /** Default 'petrel'. */
  readonly masterName?: string;
}

export interface SentinelGroup {
  /** redis+sentinel://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/<masterName> */
  readonly url: string;
  readonly masterName: string;
  /** The servers, the first primary first. */
  readonly servers: readonly RedisHandle[];
  /** The server that the sentinels name as primary now. */
  primary(): Promise<RedisHandle>;
  /** A planned failover; resolves with the new primary once all sentinels agree and it is master. */
  failover(timeoutMs?: number): Promise<RedisHandle>;
  /** SIGKILLs the current primary; resolves with the server the sentinels promote. */
  killPrimary(timeoutMs?: number): Promise<RedisHandle>;
  stop(): Promise<void>;
}

function spawnSentinel(dir: string, port: number, name: string, primaryPort: number): ChildProcess {
  const conf = join(dir, `sentinel-${port}.conf`);
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `pidfile ${join(dir, `sentinel-${port}.pid`)}`,
      `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      `sentinel parallel-syncs ${name} 1`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  child.on('error', () => undefined);
  return child;
}

function portOf(handle: RedisHandle): number {
  return Number(new URL(handle.url).port);
}

export async function startSentinelGroup(
  options: SentinelGroupOptions = {},
): Promise<SentinelGroup> {
  const name = options.masterName ?? 'petrel';
  // No 5 s wait before a replica's first full sync (repl-diskless-sync-delay defaults to 5).
  const quick = ['--repl-diskless-sync-delay', '0'];
  const primary = await spawnRedis({ extraArgs: quick });
  const servers: RedisHandle[] = [primary];
  for (let i = 0; i < (options.replicas ?? 1); i++)
    servers.push(
      await spawnRedis({
        extraArgs: [...quick, '--replicaof', '127.0.0.1', String(portOf(primary))],
      }),
    );
  const dir = mkdtempSync(join(tmpdir(), 'petrel-sentinel-'));
  const guard = watchPids(dir); // the sentinels write their pid files there
  const ports = [await freePort(), await freePort(), await freePort()];
  const children = ports.map((p) => spawnSentinel(dir, p, name, portOf(primary)));
  const sentinels = ports.map(
    (port) => new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => 200 }),
  );
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const s of sentinels) s.disconnect();
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.stop()));
    unwatchPids(dir, guard);
    rmSync(dir, { recursive: true, force: true });
  };

  const named = async (s: Redis): Promise<number> => {
    const [, port] = (await s.call('SENTINEL', 'get-master-addr-by-name', name)) as [
      string,
      string,
    ];
    return Number(port);
  };
  const byPort = (port: number): RedisHandle => {
    const server = servers.find((s) => portOf(s) === port);
    if (server === undefined) throw new Error(`sentinel group: no server on port ${port}`);
    return server;
  };
  const agreedOn = async (exclude: number, timeoutMs: number): Promise<RedisHandle> =>
    pollUntil(`sentinel group: a new primary other than ${exclude}`, timeoutMs, async () => {
      const named_ = await Promise.all(sentinels.map(named));
      const port = named_[0]!;
      if (port === exclude || named_.some((p) => p !== port)) return undefined;
      const [role] = (await ask(port, 'ROLE')) as [string];
      return role === 'master' ? byPort(port) : undefined;
    });

  try {
    for (const port of ports)
      await pollUntil(
        `sentinel group: the sentinel on ${port}`,
        10_000,
        async () => (await ask(port, 'PING')) === 'PONG' || undefined,
      );
    for (const s of sentinels) s.on('error', () => undefined);
    await Promise.all(sentinels.map((s) => s.connect()));
    // Ready: every sentinel knows the replicas and the other sentinels (a vote needs them).
    await pollUntil(
      'sentinel group: the sentinels to see the replicas and each other',
      15_000,
      async () => {
        for (const s of sentinels) {
          const [master] = (await s.call('SENTINEL', 'masters')) as string[][];
          const fields = Object.fromEntries(
            master!.flatMap((v, i, a) => (i % 2 === 0 ? [[v, a[i + 1]]] : [])),
          ) as Record<string, string>;
          if (Number(fields['num-slaves']) < servers.length - 1) return undefined;
          if (Number(fields['num-other-sentinels']) < 2) return undefined;
        }
        return true;
      },
    );
  } catch (e) {
    await stop(); // nothing is left behind by a group that never came up
    throw e;
  }

  return {
    url: `redis+sentinel://${ports.map((p) => `127.0.0.1:${p}`).join(',')}/${name}`,
    masterName: name,
    servers,
    async primary() {
      return byPort(await named(sentinels[0]!));
    },
    async failover(timeoutMs = 20_000) {
      const old = await named(sentinels[0]!);
      await sentinels[0]!.call('SENTINEL', 'FAILOVER', name);
      return agreedOn(old, timeoutMs);
    },
    async killPrimary(timeoutMs = 30_000) {
      const old = await named(sentinels[0]!);
      await byPort(old).kill!();
      return agreedOn(old, timeoutMs);
    },
    stop,
  };
}
