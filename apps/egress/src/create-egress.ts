// Builds the egress service from its configuration and returns
// { start, drain, stop }; main.ts hands it to libs/service.
//
// A BullMQ worker on `deliveries` (egress.concurrency at once), each job one
// attempt (delivery-processor.ts). As routing's, the worker never lets BullMQ
// fail a delivery by itself: attempts and maxStalledCount are effectively
// unlimited, so a delivery whose process died any number of times is taken
// again after its lock expires. Only a job this code cannot read, or whose
// body is missing, is failed on purpose and kept.
//
// Next hops' addresses come from routing.dns's resolvers (the same cache
// rules as routing); AUTH passwords from egress.credentials' files, read at
// start (a missing file stops the start, naming the key).

import { readFileSync } from 'node:fs';
import type { PetrelConfig } from '@petrel/config';
import { DnsResolver } from '@petrel/dns';
import {
  PETREL_VERSION,
  createLogger,
  createRegistry,
  processInstance,
  startHealthServer,
  type HealthServer,
  type Logger,
} from '@petrel/observability';
import {
  closeWorker,
  deferralReason,
  type DeliveryJobV1,
  destinationLabel,
  eventLogFields,
  GroupCommit,
  LeasedSlots,
  type Presence,
  QUEUES,
  ServiceRedis,
  shardPrefixes,
  startPresence,
  workerOptions,
} from '@petrel/queue';
import { customReply } from '@petrel/smtp';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Registry } from 'prom-client';
import { isAddress, type AddressAnswer, type AttemptDependencies } from './delivery-attempt.js';
import { ConnectionCache } from './connection-cache.js';
import { DeliveryProcessor, type AttemptOutcome } from './delivery-processor.js';
import { createEgressMetrics, type EgressMetrics } from './egress-metrics.js';
import { NextHopConnection } from './next-hop/index.js';

const ATTEMPT_TTL_SECONDS = 7 * 24 * 3600;

export interface EgressDependencies {
  readonly logger?: Logger;
  readonly registry?: Registry;
  readonly instance?: string;
  readonly now?: () => Date;
  /** CA certificates for next hops with TLS required (tests; default Node's). */
  readonly ca?: string | Buffer;
}

export interface Egress {
  start(): Promise<void>;
  drain(): Promise<void>;
  stop(): Promise<void>;
  readonly health: HealthServer | null;
  readonly metrics: EgressMetrics;
  readonly ready: boolean;
}

export function createEgress(config: PetrelConfig, deps: EgressDependencies = {}): Egress {
  const egressConfig = config.egress;
  const logger = deps.logger ?? createLogger({ service: 'egress', level: config.log.level });
  const registry = deps.registry ?? createRegistry({ service: 'egress' });
  const metrics = createEgressMetrics(registry);
  const destinations = new Set(config.metrics.destinations.map((d) => d.toLowerCase()));
  const instance = deps.instance ?? processInstance();
  const url = config.redis.url;
  if (url === null)
    throw new Error('redis.url: egress needs a Redis URL (npm start provides a local Redis)');
  const credentials = new Map<string, { username: string; password: string }>();
  for (const [name, entry] of Object.entries(egressConfig.credentials)) {
    try {
      const password = readFileSync(entry.passwordFile, 'utf8').replace(/\r?\n$/, '');
      credentials.set(name, { username: entry.username, password });
    } catch (err) {
      throw new Error(
        `egress.credentials["${name}"].passwordFile: cannot read it (${String(err)})`,
      );
    }
  }
  const dns = new DnsResolver({
    servers: config.routing.dns.servers,
    timeoutMs: config.routing.dns.timeoutMs,
  });

  async function addresses(host: string): Promise<AddressAnswer> {
    if (isAddress(host)) return { ok: true, addresses: [host] };
    const [a, aaaa] = await Promise.all([dns.a(host), dns.aaaa(host)]);
    const found = [
      ...(a.kind === 'records' ? a.records : []),
      ...(aaaa.kind === 'records' ? aaaa.records : []),
    ];
    if (found.length > 0) return { ok: true, addresses: found };
    const failure = a.kind === 'error' ? a.failure : aaaa.kind === 'error' ? aaaa.failure : null;
    const text =
      failure === null
        ? `Host ${host} has no address (A or AAAA)`
        : `DNS look-up of the address of ${host} failed: ${failure}`;
    return { ok: false, reply: customReply(451, '4.4.4', text) };
  }

  function dependencies(job: DeliveryJobV1): AttemptDependencies {
    const auth = job.route.auth === null ? null : (credentials.get(job.route.auth) ?? null);
    return {
      addresses,
      connections: {
        acquire: async (options) => {
          const acquired = await connections!.acquire(options);
          metrics.connections.inc({
            outcome:
              acquired.kind === 'connection'
                ? acquired.lease.fresh
                  ? 'opened'
                  : 'reused'
                : acquired.kind,
          });
          return acquired;
        },
        release: (lease) => connections!.release(lease),
      },
      session: {
        heloName: config.ingress.hostname,
        tls: job.route.tls ?? egressConfig.tls,
        credentials: auth,
        timeouts: egressConfig.timeouts,
        ...(deps.ca === undefined ? {} : { ca: deps.ca }),
      },
      now: deps.now ?? (() => new Date()),
    };
  }

  /** One per shard, shard 0 first. */
  const shards: { prefix: string; store: ServiceRedis; worker: Worker }[] = [];
  let slots: LeasedSlots | null = null;
  let connections: ConnectionCache | null = null;
  let health: HealthServer | null = null;
  let presence: Presence | null = null;
  let ready = false;
  let draining = false;

  function record(data: DeliveryJobV1, outcome: AttemptOutcome): void {
    const now = (deps.now ?? (() => new Date()))();
    const destination = destinationLabel(data.route.domain, destinations);
    let expired = false;
    for (const result of outcome.results) {
      // The verdict as committed: a deferral at the end of the lifetime is a bounce.
      const verdict = outcome.recipients[result.index]?.state ?? result.verdict;
      metrics.attempts.inc({
        outcome: verdict,
        class: String(Math.floor(result.reply.code / 100)),
        destination,
      });
      if (verdict === 'deferred')
        metrics.deferrals.inc({ reason: deferralReason(result.reply), destination });
      if (verdict === 'bounced' && result.verdict === 'deferred') expired = true;
      if (verdict === 'delivered' || verdict === 'bounced') {
        metrics.latency.observe(
          { outcome: verdict },
          (now.getTime() - Date.parse(data.receivedAt)) / 1000,
        );
      }
    }
    if (outcome.dsn !== null) metrics.dsns.inc({ reason: expired ? 'expired' : 'failed' });
  }

  const openShard = (prefix: string, suffix: string, concurrency: number) =>
    ServiceRedis.open({
      url,
      prefix,
      commandTimeoutMs: config.redis.commandTimeoutMs,
      name: `petrel-egress-${instance}${suffix}`,
      concurrency,
      warn: (fields, message) => logger.warn({ ...fields, shard: prefix }, message),
    });

  /** The shard's delivery processor and worker, the worker running. */
  const startWorker = (prefix: string, store: ServiceRedis, k: number, concurrency: number) => {
    const processor = new DeliveryProcessor({
      prefix,
      hostname: config.ingress.hostname,
      instance: `egress:${instance}`,
      redis: store.redis,
      commits: new GroupCommit({ pool: store.pool, ttlSeconds: ATTEMPT_TTL_SECONDS }),
      queues: {
        transactions: store.queue(QUEUES.transactions),
        deliveries: store.queue(QUEUES.deliveries),
      },
      retry: egressConfig.retry,
      // Half the lock: the job stays this process's while it waits.
      commitPatienceMs: egressConfig.lockDurationMs / 2,
      dependencies,
      ...(deps.now === undefined ? {} : { now: deps.now }),
    });

    const worker = new Worker(
      QUEUES.deliveries,
      async (job: Job, token?: string) => {
        const data = job.data as DeliveryJobV1;
        try {
          const active = { destination: destinationLabel(data.route.domain, destinations) };
          metrics.active.inc(active);
          const outcome = await processor.attempt(data).finally(() => metrics.active.dec(active));
          record(data, outcome);
          // One JSON line per message event, the same as recorded in Redis.
          for (const event of outcome.events)
            logger.info(eventLogFields(data.messageId, event), `message ${event.event}`);
          if (outcome.events.length === 0)
            logger.debug(
              { id: data.messageId, delivery: data.id, status: outcome.status },
              'delivery not attempted',
            );
          if (
            (outcome.status === 'deferred' || outcome.status === 'busy') &&
            outcome.nextAttemptAt !== null
          ) {
            await job.moveToDelayed(Date.parse(outcome.nextAttemptAt), token);
            throw new DelayedError();
          }
          // Another process recorded this attempt first (this one took the job
          // after that one's lock lapsed): its outcome, not this one, is in the
          // job now, and may leave recipients deferred. Completing the job
          // would drop them; failing this try makes BullMQ take the job again
          // (after its backoff), with the data as recorded.
          if (outcome.status === 'already-committed')
            throw new Error(
              `delivery ${data.id}: attempt ${outcome.attempt} was recorded by another process; taken again`,
            );
          return outcome.status;
        } catch (err) {
          if (err instanceof UnrecoverableError)
            logger.error(
              { delivery: job.id, err: err.message },
              'delivery cannot be attempted: kept in failed',
            );
          throw err;
        }
      },
      workerOptions({
        url,
        name: `petrel-egress-worker-${instance}${k === 0 ? '' : `-shard-${k}`}`,
        prefix,
        concurrency,
        lockDurationMs: egressConfig.lockDurationMs,
      }),
    );
    worker.on('failed', (job, err) => {
      if (err.name === 'DelayedError') return;
      logger.error(
        { delivery: job?.id, err: err.message },
        'delivery attempt failed; BullMQ retries it',
      );
    });
    worker.on('error', (err) => logger.warn({ err: err.message, shard: prefix }, 'worker error'));
    void worker.run();
    return worker;
  };

  return {
    get health() {
      return health;
    },
    metrics,
    get ready() {
      return ready;
    },

    async start() {
      const prefixes = shardPrefixes(config.redis.prefix, config.redis.shards);
      const concurrency = Math.ceil(egressConfig.concurrency / prefixes.length);
      // Shard 0 keeps the shared connection slots of every egress process.
      const home = await openShard(prefixes[0]!, '', concurrency);
      const limit = egressConfig.connectionsPerDestination;
      slots =
        limit === 0 ? null : new LeasedSlots({ redis: home.redis, owner: `egress:${instance}` });
      connections = new ConnectionCache({
        open: (options) => NextHopConnection.open(options),
        slots: slots === null ? null : { leases: slots, prefix: prefixes[0]!, limit },
        idleMs: egressConfig.connectionCache.idleMs,
        maxMessages: egressConfig.connectionCache.maxMessages,
      });
      for (const [k, prefix] of prefixes.entries()) {
        const store = k === 0 ? home : await openShard(prefix, `-shard-${k}`, concurrency);
        shards.push({ prefix, store, worker: startWorker(prefix, store, k, concurrency) });
      }
      await Promise.all(shards.map((shard) => shard.worker.waitUntilReady()));

      health = await startHealthServer({
        host: config.metrics.host,
        port: config.metrics.port,
        registry,
        live: () => true,
        ready: () =>
          ready && !draining && shards.every((shard) => shard.store.redis.status === 'ready'),
      });
      presence = startPresence(home.redis, prefixes[0]!, {
        service: 'egress',
        instance,
        version: PETREL_VERSION,
      });
      ready = true;
      logger.info(
        { concurrency: egressConfig.concurrency, shards: shards.length },
        'egress started',
      );
    },

    async drain() {
      if (draining) return;
      draining = true;
      void presence?.report('draining');
      ready = false;
      // Finishes the attempts in hand; takes no more; QUITs the kept connections.
      const closed = await Promise.all(
        shards.map((shard) => closeWorker(shard.worker, egressConfig.drainTimeoutMs)),
      );
      if (closed.includes('timeout'))
        logger.warn(
          { drainTimeoutMs: egressConfig.drainTimeoutMs },
          'drain timed out: exiting; jobs still in hand go to another worker when their lock expires',
        );
      await connections?.close();
      logger.info('drained');
    },

    async stop() {
      await this.drain();
      await health?.close();
      await presence?.stop();
      await Promise.all(shards.map((shard) => shard.store.close()));
      slots?.close();
      dns.close();
    },
  };
}
