// A Redis Cluster owned by the test: `masters` masters (default 3), each with
// `replicasPerMaster` replicas (default 1), every node a spawnRedis() process
// (AOF, appendfsync always) with cluster mode on, its bus on a free port of
// its own (cluster-port), node timeout 1 s. `redis-cli --cluster create`
// assigns the slots evenly (master k of n serves the k-th nth of 0..16383)
// and the replicas; the cluster is returned once every node says it is ok
// and agrees on who serves every slot.
//
// `url` is the redis+cluster:// URL that Petrel's redis.url takes.
// failover(slot) asks a replica of the slot's master for CLUSTER FAILOVER
// (the planned one) and resolves once every node names the replica as the
// slot's master; killMaster(slot) crashes the master instead, for the
// others to notice and promote its replica (the unplanned one).
//
// Does not: authenticate, use TLS, or reshard.

import { spawn } from 'node:child_process';
import { askRedis as ask, pollUntil } from './redis-ask.js';
import { freePort } from './free-port.js';
import type { RedisHandle } from './redis-handle.js';
import { spawnRedis } from './redis-process.js';

export interface RedisClusterOptions {
  /** Default 3. */
  readonly masters?: number;
  /** Default 1. */
  readonly replicasPerMaster?: number;
}

export interface RedisClusterNode extends RedisHandle {
  readonly port: number;
}

export interface RedisCluster {
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,... (every node) */
  readonly url: string;
  readonly nodes: readonly RedisClusterNode[];
  /** The slot of `key` (CLUSTER KEYSLOT, asked of the cluster itself). */
  slotOf(key: string): Promise<number>;
  /** The node serving `slot` as master now, as the first node that answers sees it. */
  masterOf(slot: number): Promise<RedisClusterNode>;
  /** A planned failover of the slot's master to one of its replicas; resolves with the new master. */
  failover(slot: number, timeoutMs?: number): Promise<RedisClusterNode>;
  /** SIGKILLs the slot's master; resolves with the replica the cluster promoted. */
  killMaster(slot: number, timeoutMs?: number): Promise<RedisClusterNode>;
  stop(): Promise<void>;
}

type SlotsReply = [number, number, [string, number, string], ...[string, number, string][]][];

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} exited ${code}: ${output}`)),
    );
  });
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodes: RedisClusterNode[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const handle = await spawnRedis({
        extraArgs: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-port',
          String(await freePort()),
          '--cluster-node-timeout',
          '1000',
          '--repl-diskless-sync-delay',
          '0',
        ],
      });
      nodes.push(Object.assign(handle, { port: Number(new URL(handle.url).port) }));
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    await pollUntil('redis cluster: every node to agree on the slots', 30_000, async () => {
      let seen: string | undefined;
      for (const node of nodes) {
        const info = String(await ask(node.port, 'CLUSTER', 'INFO'));
        if (!info.includes('cluster_state:ok')) return undefined;
        const slots = (await ask(node.port, 'CLUSTER', 'SLOTS')) as SlotsReply;
        if (slots.some((range) => range.length < 3 + replicas)) return undefined;
        const view = JSON.stringify(
          slots.map(([start, end, master]) => [start, end, master[1]]).sort(),
        );
        if (seen !== undefined && view !== seen) return undefined;
        seen = view;
      }
      return true;
    });
  } catch (e) {
    await stop(); // nothing is left behind by a cluster that never came up
    throw e;
  }

  const byPort = (port: number): RedisClusterNode => {
    const node = nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`redis cluster: no node on port ${port}`);
    return node;
  };
  /** [master, replicas] of `slot` as the node on `port` sees them. */
  const servers = async (port: number, slot: number): Promise<number[]> => {
    const slots = (await ask(port, 'CLUSTER', 'SLOTS')) as SlotsReply;
    const range = slots.find(([start, end]) => slot >= start && slot <= end);
    if (range === undefined) throw new Error(`redis cluster: nobody serves slot ${slot}`);
    return range.slice(2).map((s) => Number((s as unknown as [string, number])[1]));
  };
  const masterOf = async (slot: number): Promise<RedisClusterNode> => {
    for (const node of nodes) {
      try {
        return byPort((await servers(node.port, slot))[0]!);
      } catch {
        // a node that is down or does not know: ask the next
      }
    }
    throw new Error(`redis cluster: no node answers for slot ${slot}`);
  };
  const promoted = (slot: number, old: number, timeoutMs: number): Promise<RedisClusterNode> =>
    pollUntil(`redis cluster: a new master for slot ${slot}`, timeoutMs, async () => {
      const views = [];
      for (const node of nodes) {
        if (node.port === old) continue;
        views.push((await servers(node.port, slot).catch(() => [old]))[0]);
      }
      const port = views[0]!;
      if (port === old || views.some((p) => p !== port)) return undefined;
      const [role] = (await ask(port, 'ROLE')) as [string];
      return role === 'master' ? byPort(port) : undefined;
    });

  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    async slotOf(key) {
      return Number(await ask(nodes[0]!.port, 'CLUSTER', 'KEYSLOT', key));
    },
    masterOf,
    async failover(slot, timeoutMs = 20_000) {
      const [old, replica] = await servers((await masterOf(slot)).port, slot);
      if (replica === undefined) throw new Error(`redis cluster: slot ${slot} has no replica`);
      await ask(replica, 'CLUSTER', 'FAILOVER');
      return promoted(slot, old!, timeoutMs);
    },
    async killMaster(slot, timeoutMs = 30_000) {
      const master = await masterOf(slot);
      await master.kill!();
      return promoted(slot, master.port, timeoutMs);
    },
    stop,
  };
}
