// Builds the routing service from its configuration and returns
// { start, drain, stop }. main.ts (through the Nest module) only reads the
// configuration, calls this and wires signals; tests call it directly.
//
// start: the DNS resolver, the transactions worker (BullMQ) and the Resolve
// gRPC API. drain: /readyz and the gRPC health turn NOT_SERVING, the worker
// takes no new job and finishes the ones it holds. stop: drain, then close
// every connection and port.
//
// With several shards (redis.shards, libs/queue shards.ts) each shard gets its
// own connections, router and worker, with concurrency / shards each
// (rounded up); the admin API and the queue metrics read every shard.
//
// The worker never lets BullMQ fail a transaction by itself: attempts are
// effectively unlimited (the job's own options) and maxStalledCount too, so
// that a job whose routing process died any number of times is taken again
// after its lock expires, never moved to `failed`. Only a job this code
// cannot read is failed, on purpose (UnrecoverableError), and kept there.

import { ConfigWatcher, type ConfigReloadOptions, type PetrelConfig } from '@petrel/config';
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
  eventLogFields,
  type Presence,
  type MessageEvent,
  QUEUES,
  ServiceRedis,
  shardPrefixes,
  startPresence,
  sweepOrphanBodies,
  type TransactionJobV1,
  workerOptions,
} from '@petrel/queue';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { adminHandlers } from './admin/admin-service.js';
import { startAdminServer, type AdminServer } from './admin/admin-server.js';
import { createQueueMetrics } from './admin/queue-metrics.js';
import { QueueReport } from './admin/queue-report.js';
import { DomainRouter } from './domain-router.js';
import { startGrpcServer, type GrpcServer } from './grpc/grpc-server.js';
import { QueryResolver } from './query-resolver.js';
import { RecipientRouter } from './recipient-router.js';
import type { Resolution } from './resolution.js';
import { createRoutingMetrics, type RoutingMetrics } from './routing-metrics.js';
import { TransactionRouter, type RoutingOutcome } from './transaction-router.js';
import { TransportMap } from './transport-map.js';

const SWEEP_EVERY_MS = 10 * 60_000;
const ORPHAN_AGE_MS = 60 * 60_000;

/** What routing reads of the configuration, and what of it a reload applies (reconfigure). */
export const ROUTING_RELOAD = {
  reads: ['redis', 'ingress.hostname', 'routing', 'egress.retry', 'metrics', 'admin', 'log'],
  live: ['routing.transports', 'routing.lists', 'log.level'],
} as const;

export interface RoutingDependencies {
  readonly logger?: Logger;
  readonly registry?: Registry;
  /** Instance name for logs and the jobs it writes; default processInstance() (host name, i.e. pod name, and pid). */
  readonly instance?: string;
  /** [0, 1) for the order among equal MX preferences (tests). */
  readonly random?: () => number;
  readonly now?: () => Date;
  /** Reload the configuration while running (SIGHUP, PETREL_routingConfig changes); absent: never. */
  readonly reload?: ConfigReloadOptions;
}

export interface Routing {
  start(): Promise<void>;
  drain(): Promise<void>;
  stop(): Promise<void>;
  /** The Resolve API's answer, without gRPC. */
  resolve(query: string, options: { trusted: boolean }): Promise<Resolution>;
  /** Puts `next`'s routing.transports, routing.lists and log.level in force for the next resolution. */
  reconfigure(next: PetrelConfig): void;
  /** Started by start() when deps.reload is given. */
  readonly configWatcher: ConfigWatcher | null;
  readonly grpc: GrpcServer | null;
  /** The admin API (petrel.admin.v1.Admin), once started. */
  readonly admin: AdminServer | null;
  readonly health: HealthServer | null;
  readonly metrics: RoutingMetrics;
  readonly ready: boolean;
}

export function createRouting(config: PetrelConfig, deps: RoutingDependencies = {}): Routing {
  const routingConfig = config.routing;
  const logger = deps.logger ?? createLogger({ service: 'routing', level: config.log.level });
  const registry = deps.registry ?? createRegistry({ service: 'routing' });
  const metrics = createRoutingMetrics(registry);
  let report: QueueReport | null = null;
  const adminMetrics = createQueueMetrics(registry, () => report);
  const instance = deps.instance ?? processInstance();
  const url = config.redis.url;
  if (url === null)
    throw new Error('redis.url: routing needs a Redis URL (npm start provides a local Redis)');

  const dns = new DnsResolver({
    servers: routingConfig.dns.servers,
    timeoutMs: routingConfig.dns.timeoutMs,
    onQuery: (event) => metrics.queried(event),
  });
  const transports = new TransportMap(routingConfig.transports);
  const domains = new DomainRouter({
    transports,
    dns,
    ...(deps.random === undefined ? {} : { random: deps.random }),
  });
  const queries = new QueryResolver({
    domains,
    lists: routingConfig.lists,
    sourceRoutes: routingConfig.sourceRoutes,
  });
  const recipients = new RecipientRouter({
    domains,
    lists: routingConfig.lists,
    sourceRoutes: routingConfig.sourceRoutes,
    maxRecipientsPerDelivery: routingConfig.maxRecipientsPerDelivery,
  });

  /** One per shard, shard 0 first. */
  const shards: {
    prefix: string;
    store: ServiceRedis;
    router: TransactionRouter;
    worker: Worker;
  }[] = [];
  let grpc: GrpcServer | null = null;
  let admin: AdminServer | null = null;
  let presence: Presence | null = null;
  let health: HealthServer | null = null;
  let ready = false;
  let draining = false;
  let sweeper: NodeJS.Timeout | null = null;
  let configWatcher: ConfigWatcher | null = null;

  function record(outcome: RoutingOutcome, seconds: number): void {
    metrics.transactions.inc({ outcome: outcome.status });
    metrics.routeSeconds.observe(seconds);
    for (const resolution of outcome.plan.resolutions) metrics.resolved(resolution);
    if (outcome.status !== 'routed') return;
    for (const delivery of outcome.plan.deliveries) {
      metrics.recipients.inc(
        { outcome: delivery.queue === 'held' ? 'held' : 'delivery' },
        delivery.recipients.length,
      );
      if (delivery.queue === 'deliveries')
        metrics.groupRecipients.observe(delivery.recipients.length);
    }
    if (outcome.bounced > 0) metrics.recipients.inc({ outcome: 'bounced' }, outcome.bounced);
    if (outcome.dsn !== null) metrics.dsns.inc({ reason: outcome.expired ? 'expired' : 'failed' });
    if (outcome.retry !== null)
      metrics.recipients.inc({ outcome: 'deferred' }, outcome.retry.recipients);
  }

  /** A shard's connections, router and worker, the worker running. */
  const startShard = async (prefix: string, suffix: string, concurrency: number) => {
    const store = await ServiceRedis.open({
      url,
      prefix,
      commandTimeoutMs: config.redis.commandTimeoutMs,
      name: `petrel-routing-${instance}${suffix}`,
      concurrency,
      warn: (fields, message) => logger.warn({ ...fields, shard: prefix }, message),
    });
    const router = new TransactionRouter({
      prefix,
      hostname: config.ingress.hostname,
      instance: `routing:${instance}`,
      router: recipients,
      queues: {
        transactions: store.queue(QUEUES.transactions),
        deliveries: store.queue(QUEUES.deliveries),
        held: store.queue(QUEUES.held),
      },
      pool: store.pool,
      redis: store.redis,
      retry: config.egress.retry,
      ...(deps.now === undefined ? {} : { now: deps.now }),
    });

    const worker = new Worker(
      QUEUES.transactions,
      async (job: Job) => {
        const data = job.data as TransactionJobV1 | undefined;
        if (data?.v !== 1 || job.id === undefined) {
          throw new UnrecoverableError(
            `transactions job ${job.id}: cannot read version ${String(data?.v)}`,
          );
        }
        const started = process.hrtime.bigint();
        const outcome = await router.route(job.id, data);
        record(outcome, Number(process.hrtime.bigint() - started) / 1e9);
        logger.info(
          {
            event: 'routed',
            id: data.id,
            job: job.id,
            status: outcome.status,
            deliveries: outcome.deliveries,
            held: outcome.held,
            bounced: outcome.bounced,
            deferred: outcome.retry?.recipients ?? 0,
            retryIn: outcome.retry?.delayMs,
            dsn: outcome.dsn,
            unreported: outcome.unreported || undefined,
          },
          'transaction routed',
        );
        return outcome.status;
      },
      workerOptions({
        url,
        name: `petrel-routing-worker-${instance}${suffix}`,
        prefix,
        concurrency,
        lockDurationMs: routingConfig.lockDurationMs,
      }),
    );
    worker.on('completed', (job) => {
      if (job.id !== undefined) router.forget(job.id);
    });
    worker.on('failed', (job, err) => {
      metrics.transactions.inc({ outcome: 'error' });
      logger.error(
        { job: job?.id, err: err.message, attempts: job?.attemptsMade },
        err instanceof UnrecoverableError
          ? 'transaction cannot be routed: kept in failed'
          : 'routing failed; BullMQ retries it',
      );
    });
    worker.on('error', (err) => logger.warn({ err: err.message, shard: prefix }, 'worker error'));
    void worker.run();
    return { prefix, store, router, worker };
  };

  return {
    get grpc() {
      return grpc;
    },
    get admin() {
      return admin;
    },
    get health() {
      return health;
    },
    metrics,
    get ready() {
      return ready;
    },

    async resolve(query, options) {
      const resolution = await queries.resolve(query, options);
      metrics.resolved(resolution);
      return resolution;
    },

    get configWatcher() {
      return configWatcher;
    },

    reconfigure(next) {
      transports.replace(next.routing.transports);
      queries.replaceLists(next.routing.lists);
      recipients.replaceLists(next.routing.lists);
      logger.level = next.log.level;
    },

    async start() {
      const prefixes = shardPrefixes(config.redis.prefix, config.redis.shards);
      const concurrency = Math.ceil(routingConfig.concurrency / prefixes.length);
      for (const [k, prefix] of prefixes.entries())
        shards.push(await startShard(prefix, k === 0 ? '' : `-shard-${k}`, concurrency));
      await Promise.all(shards.map((shard) => shard.worker.waitUntilReady()));
      const { redis } = shards[0]!.store;

      grpc = await startGrpcServer({
        host: routingConfig.grpc.host,
        port: routingConfig.grpc.port,
        resolve: (query, options) => this.resolve(query, options),
        logger,
      });
      const adminShards = shards.map(({ prefix, store }) => ({
        prefix,
        hostname: config.ingress.hostname,
        instance: `routing:${instance}`,
        redis: store.redis,
        pool: store.pool,
        queues: {
          transactions: store.queue(QUEUES.transactions),
          deliveries: store.queue(QUEUES.deliveries),
          held: store.queue(QUEUES.held),
        },
        route: (domain: string) => domains.route(domain, { ignoreHold: true }),
        logEvent: (id: string, event: MessageEvent) =>
          logger.info(eventLogFields(id, event), `message ${event.event}`),
        ...(deps.now === undefined ? {} : { now: deps.now }),
      }));
      report = new QueueReport({
        shards: adminShards,
        destinations: config.metrics.destinations,
      });
      admin = await startAdminServer({
        config: config.admin,
        logger,
        handlers: adminHandlers({
          shards: adminShards,
          report,
          resolve: (query, options) => this.resolve(query, options),
          logger,
          mutations: adminMetrics.mutations,
          dsns: metrics.dsns,
        }),
      });
      presence = startPresence(redis, shards[0]!.prefix, {
        service: 'routing',
        instance,
        version: PETREL_VERSION,
      });
      health = await startHealthServer({
        host: config.metrics.host,
        port: config.metrics.port,
        registry,
        live: () => true,
        ready: () =>
          ready && !draining && shards.every((shard) => shard.store.redis.status === 'ready'),
      });
      // Orphan bodies (libs/queue orphan-sweeper.ts): every 10 minutes, those
      // over an hour old. Every replica may run it; it is idempotent.
      const sweep = async (prefix: string, redis: Redis): Promise<void> => {
        try {
          const deleted = await sweepOrphanBodies({
            redis,
            prefix,
            minAgeMs: ORPHAN_AGE_MS,
          });
          if (deleted > 0)
            logger.warn(
              { event: 'orphans-swept', deleted, shard: prefix },
              'orphan bodies deleted',
            );
        } catch (err) {
          logger.warn(
            { err: String(err), shard: prefix },
            'orphan sweep failed; the next one tries again',
          );
        }
      };
      sweeper = setInterval(() => {
        for (const shard of shards) void sweep(shard.prefix, shard.store.redis);
      }, SWEEP_EVERY_MS);
      sweeper.unref();
      if (deps.reload !== undefined) {
        configWatcher = new ConfigWatcher({
          ...deps.reload,
          current: config,
          ...ROUTING_RELOAD,
          apply: (next) => this.reconfigure(next),
          logger,
        });
        configWatcher.start();
      }
      ready = true;
      logger.info(
        { grpc: grpc.address, concurrency: routingConfig.concurrency, shards: shards.length },
        'routing started',
      );
    },

    async drain() {
      if (draining) return;
      draining = true;
      ready = false;
      if (sweeper !== null) clearInterval(sweeper);
      grpc?.setServing(false);
      void presence?.report('draining');
      // Finishes the jobs in hand; takes no more.
      const closed = await Promise.all(
        shards.map((shard) => closeWorker(shard.worker, routingConfig.drainTimeoutMs)),
      );
      if (closed.includes('timeout'))
        logger.warn(
          { drainTimeoutMs: routingConfig.drainTimeoutMs },
          'drain timed out: exiting; jobs still in hand go to another worker when their lock expires',
        );
      await Promise.all(shards.map((shard) => shard.router.flush()));
      logger.info('drained');
    },

    async stop() {
      await configWatcher?.stop();
      await this.drain();
      await grpc?.close(1_000);
      await admin?.close(1_000);
      await presence?.stop();
      await health?.close();
      await Promise.all(shards.map((shard) => shard.store.close()));
      dns.close();
    },
  };
}
