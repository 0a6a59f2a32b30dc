// The whole relay on Redis Cluster (issue 9): ingress, routing and egress on
// a redis+cluster:// URL, three masters with a replica each (libs/testing),
// the queues in three shards (redis.shards: 3; with the default prefix their
// slots fall on the three masters), durability replicas (each master's
// replica). Mail flows at a steady rate while shard 1's master is failed
// over (planned) and shard 2's master is crashed (its replica is promoted;
// the crashed node restarts, as its pod would, and rejoins as a replica).
// Every message given a 250 is delivered; every shard drains; no job failed;
// and the work spread over the masters is measured: messages accepted and
// delivered per shard (the shard's own counters, on its master), and the
// commands each master ran.
//
// As a benchmark (docs/benchmarks.md, "Redis Cluster: how the work spreads"):
// CLUSTER_SHARDS (default 3), CLUSTER_MESSAGES (600), CLUSTER_RATE (30/s) and
// CLUSTER_FAULTS=0 (no failover, no crash) change the run; the assertions
// stay (nothing lost, every shard drained, each shard a fair share).
import { hashSlot, shardPrefixes } from '@petrel/queue';
import {
  killServices,
  startRedisCluster,
  startTestSink,
  type RedisCluster,
  type TestSink,
} from '@petrel/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../src/ledger.js';
import { runLoad } from '../src/load.js';
import { waitForDrain } from '../src/queue-state.js';
import { ledgerDeliveries, startRelay } from './support/relay.js';

const SHARDS = Number(process.env['CLUSTER_SHARDS'] ?? 3);
const MESSAGES = Number(process.env['CLUSTER_MESSAGES'] ?? 600);
const RATE = Number(process.env['CLUSTER_RATE'] ?? 30);
const FAULTS = process.env['CLUSTER_FAULTS'] !== '0';
const PREFIXES = shardPrefixes('{petrel}', SHARDS);

async function ask(url: string, work: (redis: Redis) => Promise<unknown>): Promise<unknown> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

async function commandsRun(url: string): Promise<number> {
  const info = (await ask(url, (r) => r.info('stats'))) as string;
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
}

describe('the relay on Redis Cluster, sharded over three masters', () => {
  let cluster: RedisCluster;
  let sink: TestSink;
  let smtpPort: number;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    sink = await startTestSink();
    smtpPort = await startRelay(sink, 'relay.cluster.test', {
      PETREL_REDIS__URL: cluster.url,
      PETREL_REDIS__SHARDS: String(SHARDS),
      PETREL_REDIS__DURABILITY: 'replicas',
      PETREL_REDIS__REPLICAS: '1',
      PETREL_REDIS__DURABILITY_TIMEOUT: '2s',
    });
  }, 120_000);

  afterAll(async () => {
    killServices();
    await sink?.close();
    await cluster?.stop();
  }, 60_000);

  it('delivers every message given a 250 across a failover and a master crash, spread over the masters', async () => {
    const masters = await Promise.all(PREFIXES.map((p) => cluster.masterOf(hashSlot(p))));
    expect(new Set(masters.map((m) => m.port)).size).toBe(Math.min(SHARDS, 3));
    const commandsBefore = await Promise.all(cluster.nodes.map((n) => commandsRun(n.url)));

    const ledger = new Ledger();
    const load = runLoad(
      {
        host: '127.0.0.1',
        port: smtpPort,
        messages: MESSAGES,
        ratePerSecond: RATE,
        clients: 8,
        domains: ['d0.test'],
      },
      ledger,
    );
    const started = Date.now();
    let faults = 'no faults';
    if (FAULTS) {
      // The last two shards' masters (with one shard, its own, twice).
      const [second, third] = [PREFIXES[1] ?? PREFIXES[0]!, PREFIXES[2] ?? PREFIXES[0]!];
      await new Promise((r) => setTimeout(r, 4_000));
      const failedOver = await cluster.failover(hashSlot(second));
      await new Promise((r) => setTimeout(r, 4_000));
      const crashed = await cluster.masterOf(hashSlot(third));
      const promoted = await cluster.killMaster(hashSlot(third));
      await crashed.restart!();
      faults = `${second}'s master failed over to ${failedOver.port}, ${third}'s master ${crashed.port} crashed, ${promoted.port} promoted`;
    }
    await load;

    const drained = [];
    for (const prefix of PREFIXES) {
      const master = await cluster.masterOf(hashSlot(prefix));
      drained.push(await waitForDrain(master.url, prefix, 120_000));
    }
    const seconds = (Date.now() - started) / 1000;
    ledgerDeliveries(sink, ledger);
    const report = ledger.report();

    const shards = [];
    for (const prefix of PREFIXES) {
      const master = await cluster.masterOf(hashSlot(prefix));
      const stats = (await ask(master.url, (r) => r.hgetall(`${prefix}:stats`))) as Record<
        string,
        string
      >;
      shards.push({
        prefix,
        master: master.port,
        accepted: Number(stats['accepted'] ?? 0),
        delivered: Number(stats['delivered'] ?? 0),
      });
    }
    const commandsAfter = await Promise.all(cluster.nodes.map((n) => commandsRun(n.url)));
    console.log(
      `cluster: ${SHARDS} shards, ${MESSAGES} messages at ${RATE}/s, drained in ${seconds.toFixed(1)} s; ${faults}; ` +
        `${report.accepted}/${report.sent} given a 250, ${report.delivered} delivered, ${report.lost.length} lost, ` +
        `${report.duplicates.length} duplicates; refusals ${JSON.stringify(report.refusals.slice(0, 5))}\n` +
        `cluster: per shard ${JSON.stringify(shards)}\n` +
        `cluster: commands per node during the run ${JSON.stringify(
          cluster.nodes.map((n, i) => ({
            node: n.port,
            commands: commandsAfter[i]! - commandsBefore[i]!,
          })),
        )}`,
    );
    expect(report.lost).toEqual([]);
    expect(report.accepted).toBe(MESSAGES);
    for (const state of drained) expect(state).toMatchObject({ pending: 0, failed: 0 });
    // Round robin over the ready shards: each takes a share, none all of it.
    for (const shard of shards) {
      expect(shard.accepted).toBeGreaterThan(MESSAGES / SHARDS / 2);
      expect(shard.delivered).toBeGreaterThan(MESSAGES / SHARDS / 2);
    }
  }, 300_000);
});
