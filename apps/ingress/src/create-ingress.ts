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
//
// Reload (deps.reload; libs/config config-watcher.ts): on SIGHUP or a change of
// the PETREL_CONFIG file, ingress.trustedNetworks, ingress.relayDomains,
// ingress.tls, ingress.auth.usersFile, routing.lists (EXPN) and log.level take
// effect for the next command, all of them or none; a SIGHUP also reads the
// certificate, key and users file again. The files ingress.tls and
// ingress.auth name are also read again whenever they change.

import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import {
  ConfigError,
  ConfigWatcher,
  keyWithin,
  type ConfigReload,
  type ConfigReloadOptions,
  type PetrelConfig,
} from '@petrel/config';
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
  createRedis,
  failoverRisks,
  eventLogFields,
  startPresence,
  shardPrefixes,
  ShardedStore,
  TransactionStore,
  type StoreShard,
  type Presence,
} from '@petrel/queue';
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
  /** Instance name for the job record and logs; default processInstance() (host name, i.e. pod name, and pid). */
  readonly instance?: string;
  /** Reload the configuration while running (SIGHUP, PETREL_CONFIG changes); absent: never. */
  readonly reload?: ConfigReloadOptions;
}

/** What ingress reads of the configuration, and what of it a reload applies. */
export const INGRESS_RELOAD = {
  reads: ['redis', 'ingress', 'routing.lists', 'metrics.host', 'metrics.port', 'log'],
  live: [
    'ingress.trustedNetworks',
    'ingress.relayDomains',
    'ingress.tls',
    'ingress.auth.usersFile',
    'routing.lists',
    'log.level',
  ],
} as const;

export interface Ingress {
  start(): Promise<void>;
  drain(): Promise<void>;
  stop(): Promise<void>;
  /** Where each listener is bound (port 0 in the config picks a free one). */
  readonly listeners: readonly { host: string; port: number }[];
  readonly health: HealthServer | null;
  readonly metrics: IngressMetrics;
  readonly ready: boolean;
  /**
   * Puts `next`'s reloadable keys (INGRESS_RELOAD.live) in force, all or none:
   * a ConfigError names each key it refuses. What the config watcher calls.
   */
  reconfigure(next: PetrelConfig, reload: ConfigReload): Promise<void>;
  /** Started by start() when deps.reload is given. */
  readonly configWatcher: ConfigWatcher | null;
}

export function createIngress(config: PetrelConfig, deps: IngressDependencies = {}): Ingress {
  const ingressConfig = config.ingress;
  const logger = deps.logger ?? createLogger({ service: 'ingress', level: config.log.level });
  const registry = deps.registry ?? createRegistry({ service: 'ingress' });
  const metrics = createIngressMetrics(registry);
  const instance = deps.instance ?? processInstance();
  if (config.redis.url === null)
    throw new Error('redis.url: ingress needs a Redis URL (npm start provides a local Redis)');

  /** Shard 0's connection: client limits, presence (and shard 0's messages). */
  let redis: Redis | null = null;
  let store: ShardedStore | null = null;
  let health: HealthServer | null = null;
  let users: UsersFile | null = null;
  let tlsContext: SecureContext | null = null;
  let routability: Routability | null = null;
  let configWatcher: ConfigWatcher | null = null;
  /** The files in force: ingress.tls and ingress.auth.usersFile as last applied. */
  let tlsFiles = ingressConfig.tls;
  let usersFile = ingressConfig.auth?.usersFile ?? null;
  let lists = config.routing.lists;
  let watchers: FSWatcher[] = [];
  const listeners: SmtpListener[] = [];
  const bound: { host: string; port: number }[] = [];
  let presence: Presence | null = null;
  let ready = false;
  let draining = false;
  let sequence = 0;
  const idPrefix = randomBytes(4).toString('hex');

  let relay: RelayRules = {
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

  /** The certificate chain and key: a context for STARTTLS, and when the certificate expires. */
  function readTls(files: { cert: string; key: string }): {
    context: SecureContext;
    notAfter: Date;
  } {
    const cert = readFileSync(files.cert);
    const key = readFileSync(files.key);
    // Throws when the key is not the certificate's.
    const context = createSecureContext({ cert, key });
    return { context, notAfter: new X509Certificate(cert).validToDate };
  }

  function useTls(
    files: { cert: string; key: string } | null,
    loaded: { context: SecureContext; notAfter: Date } | null,
  ): void {
    tlsFiles = files;
    tlsContext = loaded?.context ?? null;
    metrics.certificateExpiry.set(loaded?.notAfter ?? null);
    if (files === null || loaded === null) return;
    const notAfter = loaded.notAfter.toISOString();
    logger.info({ cert: files.cert, notAfter }, 'TLS certificate loaded');
    if (loaded.notAfter.getTime() <= Date.now())
      logger.warn({ cert: files.cert, notAfter }, 'the TLS certificate has expired');
  }

  function loadTls(): void {
    const files = tlsFiles;
    if (files === null) return;
    try {
      useTls(files, readTls(files));
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
    const path = usersFile;
    if (path === null) return;
    try {
      const loaded = await loadUsersFile(path);
      // A reload moved ingress.auth.usersFile meanwhile: that file is in force.
      if (usersFile !== path) return;
      users = loaded;
      logger.info({ usersFile: path, users: users.size }, 'users file loaded');
    } catch (err) {
      if (users === null) throw new Error(`ingress.auth.usersFile: ${String(err)}`);
      logger.error(
        { err: String(err) },
        'users file reload failed; the previous one stays in force',
      );
    }
  }

  /** Watches the files in force (again, after a reload that moved them). */
  function watchFiles(): void {
    for (const w of watchers) w.close();
    watchers = [];
    if (tlsFiles !== null) {
      watchFile(tlsFiles.cert, loadTls);
      watchFile(tlsFiles.key, loadTls);
    }
    if (usersFile !== null) watchFile(usersFile, () => void loadUsers());
  }

  /** See Ingress.reconfigure. */
  async function reconfigure(next: PetrelConfig, reload: ConfigReload): Promise<void> {
    const changed = (key: string) => reload.changed.some((k) => keyWithin(k, key));
    // A signal reads the files again even when their names did not change.
    const reread = reload.trigger !== 'file';
    const n = next.ingress;
    const problems: string[] = [];
    // Everything is prepared before anything is put in force: all or none.
    let { trustedNetworks, relayDomains } = relay;
    if (changed('ingress.trustedNetworks')) {
      try {
        trustedNetworks = NetworkList.parse(n.trustedNetworks);
      } catch (err) {
        problems.push(`ingress.trustedNetworks: ${(err as Error).message}`);
      }
    }
    if (changed('ingress.relayDomains')) {
      try {
        relayDomains = RelayDomains.parse(n.relayDomains);
      } catch (err) {
        problems.push(`ingress.relayDomains: ${(err as Error).message}`);
      }
    }
    let tls: { context: SecureContext; notAfter: Date } | null | undefined;
    if (n.tls === null) {
      if (changed('ingress.tls')) tls = null;
    } else if (changed('ingress.tls') || reread) {
      try {
        tls = readTls(n.tls);
      } catch (err) {
        const files = `${n.tls.cert} and ${n.tls.key}`;
        problems.push(`ingress.tls: cannot load the certificate and key ${files}: ${String(err)}`);
      }
    }
    const nextUsersFile = n.auth?.usersFile ?? null;
    let nextUsers: UsersFile | undefined;
    if (nextUsersFile !== null && (changed('ingress.auth.usersFile') || reread)) {
      try {
        nextUsers = await loadUsersFile(nextUsersFile);
      } catch (err) {
        problems.push(`ingress.auth.usersFile: ${(err as Error).message}`);
      }
    }
    if (problems.length > 0) throw new ConfigError(problems);

    relay = { trustedNetworks, relayDomains };
    if (changed('routing.lists')) lists = next.routing.lists;
    if (changed('log.level')) logger.level = next.log.level;
    const moved = changed('ingress.tls') || changed('ingress.auth.usersFile');
    if (tls !== undefined) useTls(n.tls, tls);
    if (nextUsers !== undefined) {
      usersFile = nextUsersFile;
      users = nextUsers;
      logger.info({ usersFile, users: users.size }, 'users file loaded');
    }
    if (moved) watchFiles();
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
    get configWatcher() {
      return configWatcher;
    },
    reconfigure,

    async start() {
      const shards = shardPrefixes(config.redis.prefix, config.redis.shards).map(
        (prefix, k): StoreShard => {
          const connection = createRedis(config.redis.url!, {
            commandTimeoutMs: config.redis.commandTimeoutMs,
            name: `petrel-ingress-${instance}${k === 0 ? '' : `-shard-${k}`}`,
            prefix,
          });
          if (k > 0)
            connection.on('error', (err) =>
              logger.warn({ err: err.message, shard: prefix }, 'Redis connection error'),
            );
          return {
            prefix,
            redis: connection,
            store: new TransactionStore({
              redis: connection,
              prefix,
              durability: config.redis.durability,
              replicas: config.redis.replicas,
              durabilityTimeoutMs: config.redis.durabilityTimeoutMs,
            }),
          };
        },
      );
      redis = shards[0]!.redis;
      store = new ShardedStore(shards);
      const checked = await store.init();
      checked.forEach((facts, k) => {
        logger.info(
          {
            redis: facts.version,
            durability: config.redis.durability,
            appendfsync: facts.appendfsync,
            ...(shards.length > 1 ? { shard: shards[k]!.prefix } : {}),
          },
          'Redis checked',
        );
        for (const risk of failoverRisks(facts, config.redis.durability, config.redis.replicas))
          logger.warn({ redis: facts.version }, risk);
      });
      loadTls();
      await loadUsers();
      watchFiles();

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
      const policy = new IngressPolicy({
        // The event itself is stored with the message (session-policy.ts): its log line.
        received: (id, event) => {
          if (logger.isLevelEnabled('info'))
            logger.info(eventLogFields(id, event), 'message received');
        },
        config: ingressConfig,
        routability,
        lists: () => lists,
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
        ready: () => ready && !draining && store?.ready() === true,
      });
      presence = startPresence(redis, config.redis.prefix, {
        service: 'ingress',
        instance,
        version: PETREL_VERSION,
      });
      if (deps.reload !== undefined) {
        configWatcher = new ConfigWatcher({
          ...deps.reload,
          current: config,
          ...INGRESS_RELOAD,
          apply: reconfigure,
          logger,
        });
        configWatcher.start();
      }
      ready = true;
    },

    async drain() {
      if (draining) return;
      draining = true;
      ready = false;
      void presence?.report('draining');
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
      await configWatcher?.stop();
      await this.drain();
      for (const w of watchers) w.close();
      await health?.close();
      routability?.close();
      await store?.close();
      await presence?.stop();
      for (const shard of store?.shards ?? []) shard.redis.disconnect();
    },
  };
}
