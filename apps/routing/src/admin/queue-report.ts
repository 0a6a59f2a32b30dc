// The whole queue in numbers, for the admin API and the queue metrics:
//   summary()   entries by state, and by destination domain and age (qshape's
//               buckets: 5, 10, 20, ... 1280 minutes and older), from every
//               entry (a full read of the queue: an operator's question).
//   status()    services seen (presence), queue depths and workers, Redis
//               memory and persistence (INFO), the cluster counters.
//   snapshot()  what the Prometheus gauges show, read at most once a second
//               however many gauges and scrapes ask: job counts, the oldest
//               job's age per queue, deferred recipients by reason and
//               destination (from up to 5,000 delayed jobs), workers, Redis.
//
// With several shards (libs/queue shards.ts), the numbers are the shards'
// together: counts and counters added, the oldest age the oldest of all,
// workers the fewest any shard has (each process runs a worker per shard).
// Presence and the Redis facts are shard 0's.
//
// Does not: change anything.

import type {
  DomainRow,
  QueueDepth,
  RedisStatus,
  StateCount,
  StatusResponse,
  SummaryResponse,
} from '@petrel/proto';
import { ENTRY_STATES } from '@petrel/proto';
import {
  deferralReason,
  destinationLabel,
  PRESENCE_STALE_MS,
  QUEUES,
  readPresence,
  readStats,
  STAT_NAMES,
  type DeliveryJobV1,
  type TransactionJobV1,
} from '@petrel/queue';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { readEntries, type AdminQueues } from './entries.js';

export const BUCKET_MINUTES = [5, 10, 20, 40, 80, 160, 320, 640, 1280];
const SAMPLE = 5000;
const SNAPSHOT_MS = 1000;

export interface QueueSnapshot {
  /** queue -> state -> jobs. */
  readonly jobs: Record<string, Record<string, number>>;
  /** queue -> seconds since the receipt of its oldest job not final (0: empty). */
  readonly oldest: Record<string, number>;
  /** `${reason}\0${destination}` -> recipients. */
  readonly deferred: Map<string, number>;
  readonly workers: Record<string, number>;
  readonly redis: RedisStatus;
}

export interface ReportShard {
  readonly redis: Redis;
  readonly prefix: string;
  readonly queues: AdminQueues;
}

export class QueueReport {
  readonly #shards: readonly ReportShard[];
  readonly #destinations: ReadonlySet<string>;
  #snapshot: { at: number; value: Promise<QueueSnapshot> } | null = null;

  constructor(options: { shards: readonly ReportShard[]; destinations: readonly string[] }) {
    if (options.shards.length === 0) throw new Error('QueueReport: no shards');
    this.#shards = options.shards;
    this.#destinations = new Set(options.destinations.map((d) => d.toLowerCase()));
  }

  /** Shard 0's connection: presence and the Redis facts. */
  get #redis(): Redis {
    return this.#shards[0]!.redis;
  }

  async summary(now = Date.now()): Promise<SummaryResponse> {
    const states = new Map<string, { entries: number; recipients: number }>(
      ENTRY_STATES.map((s) => [s, { entries: 0, recipients: 0 }]),
    );
    const domains = new Map<string, { total: number; buckets: number[]; deferred: number }>();
    let oldest = Infinity;
    for await (const { entry } of readEntries(this.#shards)) {
      const open = entry.recipients.filter((r) => r.state === 'pending' || r.state === 'deferred');
      const count = states.get(entry.state)!;
      count.entries += 1;
      count.recipients += open.length;
      const received = Date.parse(entry.receivedAt);
      oldest = Math.min(oldest, received);
      const name = entry.domain === '' ? '(routing)' : entry.domain;
      let row = domains.get(name);
      if (row === undefined) {
        row = {
          total: 0,
          buckets: new Array<number>(BUCKET_MINUTES.length + 1).fill(0),
          deferred: 0,
        };
        domains.set(name, row);
      }
      row.total += 1;
      const minutes = (now - received) / 60_000;
      const bucket = BUCKET_MINUTES.findIndex((limit) => minutes < limit);
      row.buckets[bucket < 0 ? BUCKET_MINUTES.length : bucket]! += 1;
      row.deferred += open.filter((r) => r.state === 'deferred').length;
    }
    return {
      states: [...states].map(([state, c]): StateCount => ({ state, ...c })),
      bucketMinutes: BUCKET_MINUTES,
      domains: [...domains]
        .map(([domain, row]): DomainRow => ({ domain, ...row }))
        .sort((a, b) => b.total - a.total || a.domain.localeCompare(b.domain)),
      oldestReceivedAt: oldest === Infinity ? '' : new Date(oldest).toISOString(),
    };
  }

  async status(now = Date.now()): Promise<StatusResponse> {
    const [presence, stats, depths, redis] = await Promise.all([
      readPresence(this.#redis, this.#shards[0]!.prefix, now),
      this.#stats(),
      this.#depths(),
      this.#redisStatus(),
    ]);
    return {
      services: presence.map((p) => ({
        service: p.service,
        instance: p.instance,
        version: p.version,
        seenAt: p.seenAt,
        startedAt: p.startedAt,
        health: now - Date.parse(p.seenAt) <= PRESENCE_STALE_MS ? 'up' : 'stale',
        state: p.state,
      })),
      queues: depths,
      redis,
      counters: STAT_NAMES.map((name) => ({ name, value: stats[name] })),
      at: new Date(now).toISOString(),
    };
  }

  /** The gauges' numbers, shared by every gauge of one scrape. */
  snapshot(): Promise<QueueSnapshot> {
    const now = Date.now();
    if (this.#snapshot !== null && now - this.#snapshot.at < SNAPSHOT_MS)
      return this.#snapshot.value;
    const value = this.#readSnapshot(now);
    const entry = { at: now, value };
    this.#snapshot = entry;
    value.catch(() => {
      if (this.#snapshot === entry) this.#snapshot = null;
    });
    return value;
  }

  async #stats() {
    const all = await Promise.all(this.#shards.map((s) => readStats(s.redis, s.prefix)));
    return Object.fromEntries(
      STAT_NAMES.map((name) => [name, all.reduce((sum, stats) => sum + stats[name], 0)]),
    ) as Record<(typeof STAT_NAMES)[number], number>;
  }

  async #readSnapshot(now: number): Promise<QueueSnapshot> {
    const names = [QUEUES.transactions, QUEUES.deliveries, QUEUES.held] as const;
    const [depths, redis, oldest, deferred] = await Promise.all([
      this.#depths(),
      this.#redisStatus(),
      Promise.all(
        names.map(async (name) =>
          Math.max(
            ...(await Promise.all(this.#shards.map((s) => this.#oldest(s.queues[name], now)))),
          ),
        ),
      ),
      this.#deferred(),
    ]);
    const jobs: QueueSnapshot['jobs'] = {};
    const workers: QueueSnapshot['workers'] = {};
    for (const d of depths) {
      jobs[d.queue] = {
        waiting: d.waiting,
        active: d.active,
        delayed: d.delayed,
        failed: d.failed,
      };
      workers[d.queue] = d.workers;
    }
    return {
      jobs,
      oldest: Object.fromEntries(names.map((name, i) => [name, oldest[i]!])),
      deferred,
      workers,
      redis,
    };
  }

  async #depths(): Promise<QueueDepth[]> {
    const names = [QUEUES.transactions, QUEUES.deliveries, QUEUES.held] as const;
    return Promise.all(
      names.map(async (name) => {
        const shards = await Promise.all(
          this.#shards.map(({ queues }) =>
            Promise.all([
              queues[name].getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'),
              queues[name].getWorkersCount().catch(() => 0),
            ]),
          ),
        );
        const sum = (...states: string[]) =>
          shards.reduce((n, [counts]) => n + states.reduce((m, st) => m + (counts[st] ?? 0), 0), 0);
        return {
          queue: name,
          waiting: sum('waiting', 'prioritized'),
          active: sum('active'),
          delayed: sum('delayed'),
          failed: sum('failed'),
          workers: Math.min(...shards.map(([, workers]) => workers)),
        };
      }),
    );
  }

  /** Seconds since the receipt of the oldest job among the first of each state. */
  async #oldest(queue: Queue, now: number): Promise<number> {
    const pages = await Promise.all(
      (['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const).map(
        (state) => queue.getJobs(state, 0, 199, true) as Promise<Job[]>,
      ),
    );
    let oldest = now;
    for (const job of pages.flat()) {
      const received = (job?.data as { receivedAt?: string } | undefined)?.receivedAt;
      if (received !== undefined) oldest = Math.min(oldest, Date.parse(received));
    }
    return (now - oldest) / 1000;
  }

  async #deferred(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const add = (reason: string, domain: string, n: number) => {
      const key = `${reason}\0${destinationLabel(domain, this.#destinations)}`;
      counts.set(key, (counts.get(key) ?? 0) + n);
    };
    const sample = Math.ceil(SAMPLE / this.#shards.length);
    const delayed = async (name: 'deliveries' | 'transactions') =>
      (
        await Promise.all(
          this.#shards.map(
            ({ queues }) => queues[name].getJobs('delayed', 0, sample - 1, true) as Promise<Job[]>,
          ),
        )
      ).flat();
    const deliveries = await delayed('deliveries');
    for (const job of deliveries) {
      const data = job?.data as DeliveryJobV1 | undefined;
      if (data?.v !== 1) continue;
      for (const r of data.recipients) {
        if (r.state === 'deferred' && r.lastReply !== undefined)
          add(deferralReason(r.lastReply), data.route.domain, 1);
      }
    }
    const retries = await delayed('transactions');
    for (const job of retries) {
      const data = job?.data as TransactionJobV1 | undefined;
      if (data?.v !== 1) continue;
      for (const r of data.recipients) add('dns', r.forwardPath.mailbox?.domain ?? '', 1);
    }
    return counts;
  }

  async #redisStatus(): Promise<RedisStatus> {
    const text = await this.#redis.info();
    const info = new Map<string, string>();
    for (const line of text.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0 && !line.startsWith('#')) info.set(line.slice(0, colon), line.slice(colon + 1));
    }
    const setting = async (name: string) =>
      ((await this.#redis.config('GET', name).catch(() => [])) as string[])[1] ?? '';
    const [appendfsync, save] = await Promise.all([setting('appendfsync'), setting('save')]);
    const lastSave = Number(info.get('rdb_last_save_time') ?? 0);
    return {
      version: info.get('redis_version') ?? '',
      role: info.get('role') ?? '',
      usedMemory: Number(info.get('used_memory') ?? 0),
      maxmemory: Number(info.get('maxmemory') ?? 0),
      maxmemoryPolicy: info.get('maxmemory_policy') ?? '',
      aofEnabled: info.get('aof_enabled') === '1',
      appendfsync,
      save,
      aofLastWriteStatus: info.get('aof_last_write_status') ?? '',
      rdbLastBgsaveStatus: info.get('rdb_last_bgsave_status') ?? '',
      rdbLastSaveAt: lastSave > 0 ? new Date(lastSave * 1000).toISOString() : '',
      connectedReplicas: Number(info.get('connected_slaves') ?? 0),
    };
  }
}
