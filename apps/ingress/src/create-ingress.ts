// Builds the ingress service from its configuration and dependencies and
// returns { start, drain, stop }. main.ts (through the Nest module) only reads
// the configuration, calls this, and wires signals; tests call it directly.
//
// start: refuses to run against a Redis that could lose accepted mail (an
// evicting maxmemory-policy, no fsync for `durability: fsync`, too few
// replicas), then listens. drain: /readyz turns false, listeners stop
// accepting, sessions finish their transaction or get 421, and whatever is
// left at the end of the grace period is closed. stop: drain, then release
// Redis and the HTTP port.

import { randomBytes } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { PetrelConfig } from '@petrel/config';
import {
  createLogger,
  createRegistry,
  startHealthServer,
  type HealthServer,
  type Logger,
} from '@petrel/observability';
import { createRedis, recordEvent, TransactionStore } from '@petrel/queue';
import type { ServerOptions } from '@petrel/smtp';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { ClientLimiter } from './client-limits.js';
import { createIngressMetrics, type IngressMetrics } from './ingress-metrics.js';
import { NetworkList } from './policy/networks.js';
import { RelayDomains } from './policy/relay-policy.js';
import { loadUsersFile, type UsersFile } from './policy/users-file.js';
import { IngressPolicy, type RelayRules } from './session-policy.js';
import { SmtpListener } from './smtp-listener.js';
import { Routability } from './routability.js';
import { createRoutingClient } from '@petrel/proto';

export interface IngressDependencies {
  readonly logger?: Logger;
  readonly registry?: Registry;
  /** Instance name for the job record and logs; default hostname:pid. */
  readonly instance?: string;
}

export interface Ingress {
  start(): Promise<void>;
  drain(): Promise<void>;
  stop(): Promise<void>;
  /** Where each listener is bound (port 0 in the config picks a free one). */
  readonly listeners: readonly { host: string; port: number }[];
  readonly health: HealthServer | null;
  readonly metrics: IngressMetrics;
  readonly ready: boolean;
}

export function createIngress(config: PetrelConfig, deps: IngressDependencies = {}): Ingress {
  const ingressConfig = config.ingress;
  const logger = deps.logger ?? createLogger({ service: 'ingress', level: config.log.level });
  const registry = deps.registry ?? createRegistry({ collectDefaults: true });
  const metrics = createIngressMetrics(registry);
  const instance = deps.instance ?? `${ingressConfig.hostname}:${process.pid}`;
  if (config.redis.url === null)
    throw new Error('redis.url: ingress needs a Redis URL (npm start provides a local Redis)');

  let redis: Redis | null = null;
  let store: TransactionStore | null = null;
  let health: HealthServer | null = null;
  let users: UsersFile | null = null;
  let tlsContext: SecureContext | null = null;
  let routability: Routability | null = null;
  const watchers: FSWatcher[] = [];
  const listeners: SmtpListener[] = [];
  const bound: { host: string; port: number }[] = [];
  let ready = false;
  let draining = false;
  let sequence = 0;
  const idPrefix = randomBytes(4).toString('hex');

  const relay: RelayRules = {
    trustedNetworks: NetworkList.parse(ingressConfig.trustedNetworks),
    relayDomains: RelayDomains.parse(ingressConfig.relayDomains),
  };
  const loadBalancers = NetworkList.parse(ingressConfig.loadBalancers);

  const sessionOptions: ServerOptions = {
    hostname: ingressConfig.hostname,
    limits: {
      messageSize: ingressConfig.maxMessageSize,
      recipients: ingressConfig.maxRecipients,
      errors: ingressConfig.maxErrors,
    },
    expn: ingressConfig.expn.enabled,
    turn: false,
  };

  function loadTls(): void {
    const tls = ingressConfig.tls;
    if (tls === null) return;
    try {
      tlsContext = createSecureContext({
        cert: readFileSync(tls.cert),
        key: readFileSync(tls.key),
      });
      logger.info({ cert: tls.cert }, 'TLS certificate loaded');
    } catch (err) {
      if (tlsContext === null)
        throw new Error(`ingress.tls: cannot load the certificate or key: ${String(err)}`);
      logger.error(
        { err: String(err) },
        'TLS certificate reload failed; the previous one stays in force',
      );
    }
  }

  async function loadUsers(): Promise<void> {
    const auth = ingressConfig.auth;
    if (auth === null) return;
    try {
      users = await loadUsersFile(auth.usersFile);
      logger.info({ usersFile: auth.usersFile, users: users.size }, 'users file loaded');
    } catch (err) {
      if (users === null) throw new Error(`ingress.auth.usersFile: ${String(err)}`);
      logger.error(
        { err: String(err) },
        'users file reload failed; the previous one stays in force',
      );
    }
  }

  // Watches the file's directory, not the file: a file replaced by rename (editors,
  // Kubernetes Secret volumes swapping their ..data link) is a new inode that a
  // watch on the old one never sees.
  function watchFile(path: string, reload: () => void): void {
    let timer: NodeJS.Timeout | null = null;
    const name = basename(path);
    const watcher = watch(dirname(path), (_event, changed) => {
      if (changed !== null && changed !== name && !changed.startsWith('..')) return;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(reload, 200);
      timer.unref();
    });
    watcher.on('error', () => undefined);
    watcher.unref();
    watchers.push(watcher);
  }

  return {
    get listeners() {
      return bound;
    },
    get health() {
      return health;
    },
    metrics,
    get ready() {
      return ready;
    },

    async start() {
      redis = createRedis(config.redis.url!, {
        commandTimeoutMs: config.redis.commandTimeoutMs,
        name: `petrel-ingress-${instance}`,
      });
      store = new TransactionStore({
        redis,
        prefix: config.redis.prefix,
        durability: config.redis.durability,
        replicas: config.redis.replicas,
        durabilityTimeoutMs: config.redis.durabilityTimeoutMs,
      });
      const facts = await store.init();
      logger.info(
        {
          redis: facts.version,
          durability: config.redis.durability,
          appendfsync: facts.appendfsync,
        },
        'Redis checked',
      );
      loadTls();
      await loadUsers();
      if (ingressConfig.tls !== null) {
        watchFile(ingressConfig.tls.cert, loadTls);
        watchFile(ingressConfig.tls.key, loadTls);
      }
      if (ingressConfig.auth !== null)
        watchFile(ingressConfig.auth.usersFile, () => void loadUsers());

      const limiter = new ClientLimiter({
        redis,
        prefix: config.redis.prefix,
        connectionsPerClient: ingressConfig.limits.connectionsPerClient,
        messagesPerClientPerMinute: ingressConfig.limits.messagesPerClientPerMinute,
        authFailuresPerClientPerHour: ingressConfig.limits.authFailuresPerClientPerHour,
        instance,
      });
      if (ingressConfig.resolve.address !== null) {
        routability = new Routability({
          client: createRoutingClient(ingressConfig.resolve.address),
          timeoutMs: ingressConfig.resolve.timeoutMs,
          checks: metrics.resolveChecks,
        });
      }
      const events = redis;
      const policy = new IngressPolicy({
        received: (id, fields) =>
          void recordEvent(events, config.redis.prefix, id, {
            event: 'received',
            service: 'ingress',
            instance,
            at: new Date().toISOString(),
            ...fields,
          }),
        config: ingressConfig,
        routability,
        lists: config.routing.lists,
        instance,
        store,
        limiter,
        relay: () => relay,
        users: () => users,
        metrics,
        logger,
      });
      for (const listenerConfig of ingressConfig.listeners) {
        const listener = new SmtpListener(
          listenerConfig,
          {
            session: {
              ...sessionOptions,
              auth: listenerConfig.allowPlaintextAuth
                ? 'always'
                : ingressConfig.auth === null
                  ? 'never'
                  : 'tls',
            },
            policy,
            timeouts: ingressConfig.timeouts,
            proxy: { enabled: listenerConfig.proxyProtocol, loadBalancers },
            tlsContext: () => tlsContext,
            metrics,
            logger,
          },
          () => `${idPrefix}-${(++sequence).toString(36)}`,
        );
        const address = await listener.listen();
        listeners.push(listener);
        bound.push({ host: address.address, port: address.port });
        logger.info(
          {
            listener: `${address.address}:${address.port}`,
            proxyProtocol: listenerConfig.proxyProtocol,
          },
          'SMTP listening',
        );
      }
      health = await startHealthServer({
        host: config.metrics.host,
        port: config.metrics.port,
        registry,
        live: () => true,
        ready: () => ready && !draining && redis?.status === 'ready',
      });
      ready = true;
    },

    async drain() {
      if (draining) return;
      draining = true;
      ready = false;
      logger.info({ sessions: listeners.reduce((n, l) => n + l.size, 0) }, 'draining');
      for (const l of listeners) l.drain();
      const grace = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), ingressConfig.drainTimeoutMs).unref(),
      );
      const outcome = await Promise.race([Promise.all(listeners.map((l) => l.idle())), grace]);
      if (outcome === 'timeout') {
        logger.warn('drain grace period over: closing the remaining sessions');
        for (const l of listeners) l.forceClose();
        await Promise.all(listeners.map((l) => l.idle()));
      }
      logger.info('drained');
    },

    async stop() {
      await this.drain();
      for (const w of watchers) w.close();
      await health?.close();
      routability?.close();
      await store?.close();
      redis?.disconnect();
    },
  };
}
