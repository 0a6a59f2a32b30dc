// The queue's own metrics (prefix petrel_), served by routing: read from Redis
// once per scrape (QueueReport.snapshot(), shared by every gauge), never
// counted per message. Several routing replicas serve the same values:
// aggregate them with max, not sum. Labels stay bounded: queue and state
// names, the five deferral reasons, and destination = one of
// metrics.destinations or "other".
import { DEFERRAL_REASONS } from '@petrel/queue';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { QueueReport, QueueSnapshot } from './queue-report.js';

export interface AdminMetrics {
  readonly mutations: Counter<'action' | 'outcome'>;
}

export function createQueueMetrics(
  registry: Registry,
  report: () => QueueReport | null,
): AdminMetrics {
  const registers = [registry];
  const read = async (): Promise<QueueSnapshot | null> => {
    const source = report();
    return source === null ? null : source.snapshot().catch(() => null);
  };
  new Gauge({
    name: 'petrel_queue_jobs',
    help: 'Jobs in each queue (transactions, deliveries, held) by BullMQ state: waiting, active, delayed (deferred, or a routing retry), failed. Read from Redis once per scrape.',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      const now = await read();
      if (now === null) return;
      for (const [queue, states] of Object.entries(now.jobs))
        for (const [state, n] of Object.entries(states)) this.set({ queue, state }, n);
    },
  });
  new Gauge({
    name: 'petrel_queue_oldest_seconds',
    help: 'Age since ingress received it of the oldest message with a job in the queue (0: empty), among the first 200 jobs of each state.',
    labelNames: ['queue'],
    registers,
    async collect() {
      const now = await read();
      if (now === null) return;
      for (const [queue, seconds] of Object.entries(now.oldest)) this.set({ queue }, seconds);
    },
  });
  new Gauge({
    name: 'petrel_queue_deferred_recipients',
    help: 'Recipients waiting for their next attempt, by the reason class of their last reply (dns, connect, tls, throttle, 4yz) and destination (one of metrics.destinations, or other); from up to 5,000 delayed jobs.',
    labelNames: ['reason', 'destination'],
    registers,
    async collect() {
      const now = await read();
      if (now === null) return;
      this.reset();
      for (const reason of DEFERRAL_REASONS) this.set({ reason, destination: 'other' }, 0);
      for (const [key, n] of now.deferred) {
        const [reason, destination] = key.split('\0');
        this.set({ reason: reason!, destination: destination! }, n);
      }
    },
  });
  new Gauge({
    name: 'petrel_queue_workers',
    help: 'BullMQ workers connected to each queue (routing processes on transactions, egress on deliveries; none on held).',
    labelNames: ['queue'],
    registers,
    async collect() {
      const now = await read();
      if (now === null) return;
      for (const [queue, n] of Object.entries(now.workers)) this.set({ queue }, n);
    },
  });
  const redisGauge = (name: string, help: string, value: (s: QueueSnapshot) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const now = await read();
        if (now !== null) this.set(value(now));
      },
    });
  redisGauge(
    'petrel_redis_memory_used_bytes',
    'Redis used_memory (INFO memory).',
    (s) => s.redis.usedMemory,
  );
  redisGauge(
    'petrel_redis_maxmemory_bytes',
    'Redis maxmemory; 0: no limit.',
    (s) => s.redis.maxmemory,
  );
  redisGauge('petrel_redis_aof_enabled', '1 when Redis appends every write to its AOF.', (s) =>
    s.redis.aofEnabled ? 1 : 0,
  );
  redisGauge(
    'petrel_redis_persistence_ok',
    '1 when Redis persists (AOF on and its last write ok, or RDB snapshots scheduled and the last one ok); 0 means a restart of Redis loses accepted mail.',
    (s) => (persists(s.redis) ? 1 : 0),
  );
  return {
    mutations: new Counter({
      name: 'petrel_admin_mutations_total',
      help: 'Entries the admin API acted on (relayctl retry, hold, release, delete, bounce), by action and outcome (changed, unchanged, skipped).',
      labelNames: ['action', 'outcome'],
      registers,
    }),
  };
}

function persists(redis: QueueSnapshot['redis']): boolean {
  if (redis.aofEnabled) return redis.aofLastWriteStatus === 'ok';
  return redis.save.trim() !== '' && redis.rdbLastBgsaveStatus === 'ok';
}
