// A local Petrel cluster on one machine, for benchmarks and fault tests
// (issue 9): HAProxy on 127.0.0.1 sending the PROXY protocol (v2) to N
// ingress processes, M routing and K egress processes, one Redis (AOF,
// appendfsync always; its own process, so that it can be killed and its AOF
// replayed), a DNS server (dnsmasq) answering for the test domains, and one
// sink per test domain on its own loopback address (d1.test at 127.0.1.1,
// d2.test at 127.0.1.2, …). Each Petrel process has its own free metrics port
// and log file in the cluster's directory, and is supervised: a process that
// exits is started again after a short delay, as a Deployment restarts a pod.
// Every fault (kill, exit, restart, drain, Redis restart) is recorded with its
// time in `events`.
//
// Everything binds 127.0.0.0/8 only, and no DNS query leaves the machine:
// routing's only resolver is the cluster's dnsmasq, which is authoritative
// for .test and forwards nothing.
//
// Does not: run anything in containers, restart HAProxy, Redis, dnsmasq or
// the sinks on its own (restartRedis() is asked for), or build anything but
// the three services (ensureServiceBuilt, when their dist is missing or older
// than their sources).

import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureServiceBuilt,
  eventually,
  forgetPid,
  freePort,
  recordedPids,
  rememberPid,
  spawnRedis,
  startDnsmasq,
  startTestSink,
  type DnsmasqHandle,
  type RedisHandle,
  type TestSink,
  unwatchPids,
  watchPids,
} from '@petrel/testing';
import { Redis } from 'ioredis';
import {
  ingressHostname,
  ingressListeners,
  sharedConfig,
  sinkAddress,
  testDomain,
  type ConfigObject,
  type Durability,
  type SinkRoute,
} from './config.js';
import { stamp, type ClusterEvent, type ClusterEventKind } from './events.js';
import { ensureHaproxy, startHaproxy, type HaproxyHandle } from './haproxy.js';
import { isAlive, smtpGreeting } from './probe.js';
import {
  ServiceMember,
  type DrainResult,
  type ExitInfo,
  type ServiceKind,
} from './service-member.js';

export interface ClusterSpec {
  readonly ingress: number;
  readonly routing: number;
  readonly egress: number;
  /** Sinks, one test domain each (d1.test …). Default 1. */
  readonly sinks?: number;
  /** redis.durability. Default 'fsync'; 'replicas' also starts one Redis replica. */
  readonly durability?: Durability;
  /** Petrel configuration merged over the cluster's (objects key by key). */
  readonly config?: ConfigObject;
  /** Delay before a process that exited is started again. Default 500 ms. */
  readonly restartDelayMs?: number;
  /** How long each process may take to answer /readyz 200. Default 30 s. */
  readonly readyTimeoutMs?: number;
  /** Keep the directory (logs, configuration) after stop(). Default false. */
  readonly keepDir?: boolean;
  /** Called with each event as it is recorded (the CLI prints them). */
  readonly onEvent?: (event: ClusterEvent) => void;
}

export interface IngressAddress {
  readonly index: number;
  /** ingress-<index>.cluster.test: its greeting and Received: headers. */
  readonly hostname: string;
  /** The PROXY listener HAProxy sends to (a connection must start with a PROXY header). */
  readonly proxyPort: number;
  /** A plain listener on the same process, bypassing HAProxy. */
  readonly directPort: number;
  readonly metricsPort: number;
}

export interface ProcessInfo {
  readonly kind: ServiceKind;
  readonly index: number;
  readonly pid: number | undefined;
  readonly state: string;
  readonly restarts: number;
  readonly metricsPort: number;
  readonly logFile: string;
}

export interface Cluster {
  /** HAProxy: where clients send mail. */
  readonly smtp: { readonly host: string; readonly port: number; readonly address: string };
  readonly ingress: readonly IngressAddress[];
  /** The routing processes' gRPC ports (Resolve), by index. */
  readonly routingGrpcPorts: readonly number[];
  readonly redis: RedisHandle;
  /** The replica, for durability 'replicas'; else null. */
  readonly replica: RedisHandle | null;
  readonly dns: DnsmasqHandle;
  readonly sinks: readonly TestSink[];
  /** The test domains, sinks[k - 1] receiving d<k>.test. */
  readonly domains: readonly string[];
  /** Logs (<kind>-<index>.log, haproxy.log), the configuration file, pid files. */
  readonly dir: string;
  readonly configFile: string;
  /** Every fault, in order. */
  readonly events: readonly ClusterEvent[];
  processes(): ProcessInfo[];
  /** Sends a signal (default SIGKILL); resolves when the process exited. It is restarted after restartDelayMs. */
  kill(kind: ServiceKind, index: number, signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** Resolves with the pid once the process runs and answers /readyz 200. */
  waitReady(kind: ServiceKind, index: number, timeoutMs?: number): Promise<number>;
  /** SIGKILLs Redis and starts it again on the same port and directory (the AOF is replayed). */
  restartRedis(): Promise<void>;
  /** SIGTERM and no restart until resume(): the exit code and how long the drain took. */
  drain(kind: ServiceKind, index: number): Promise<DrainResult>;
  /** Starts a drained process again; resolves with its pid once ready. */
  resume(kind: ServiceKind, index: number): Promise<number>;
  /** Every process id the cluster runs now (services, HAProxy, Redis). */
  pids(): number[];
  /** Stops everything it started. Idempotent; also done on process exit. */
  stop(): Promise<void>;
}

const DEFAULT_RESTART_DELAY_MS = 500;
const DEFAULT_READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const KINDS: readonly ServiceKind[] = ['routing', 'egress', 'ingress'];

function checkSpec(spec: ClusterSpec): void {
  for (const kind of KINDS) {
    const count = spec[kind];
    if (!Number.isInteger(count) || count < 1 || count > 64)
      throw new RangeError(`startCluster: ${kind} must be an integer from 1 to 64`);
  }
  const sinks = spec.sinks ?? 1;
  if (!Number.isInteger(sinks) || sinks < 1 || sinks > 254)
    throw new RangeError('startCluster: sinks must be an integer from 1 to 254');
}

/** Starts the sinks, one on each of 127.0.1.1, 127.0.1.2, … */
async function startSinks(count: number): Promise<TestSink[]> {
  const sinks: TestSink[] = [];
  for (let k = 1; k <= count; k++) sinks.push(await startTestSink({ host: sinkAddress(k) }));
  return sinks;
}

function sinkRoutes(sinks: readonly TestSink[]): SinkRoute[] {
  return sinks.map((sink, i) => ({ domain: testDomain(i + 1), host: sink.host, port: sink.port }));
}

/** MX d<k>.test → sink<k>.cluster.test → 127.0.1.k; the rest of .test is NXDOMAIN. */
function startDns(routes: readonly SinkRoute[]): Promise<DnsmasqHandle> {
  return startDnsmasq({
    mx: routes.map((route, i) => ({
      name: route.domain,
      exchange: `sink${i + 1}.cluster.test`,
      preference: 10,
    })),
    hosts: routes.map((route, i) => ({ name: `sink${i + 1}.cluster.test`, address: route.host })),
    localDomains: ['test'],
  });
}

/** A replica of `primary`; resolves once the primary counts it as connected. */
async function startReplica(primary: RedisHandle): Promise<RedisHandle> {
  const { hostname, port } = new URL(primary.url);
  const replica = await spawnRedis({ extraArgs: ['--replicaof', hostname, port] });
  const client = new Redis(primary.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await eventually(async () => {
      const info = await client.info('replication');
      return /connected_slaves:[1-9]/.test(info) && /state=online/.test(info) ? true : undefined;
    }, 15_000);
  } finally {
    client.disconnect();
  }
  return replica;
}

/**
 * Runs `work` with the event loop held open: Redis, dnsmasq and the sinks are
 * unref'd (so that a forgotten one does not keep a test alive), and a script
 * awaiting only them at its top level would otherwise end mid-way.
 */
async function holdingLoop<T>(work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => undefined, 60_000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

async function ensureBuilds(): Promise<void> {
  for (const kind of ['ingress', 'routing', 'egress']) await ensureServiceBuilt(kind);
}

class LocalCluster implements Cluster {
  smtp = { host: '127.0.0.1', port: 0, address: '' };
  ingress: IngressAddress[] = [];
  routingGrpcPorts: number[] = [];
  redis!: RedisHandle;
  replica: RedisHandle | null = null;
  dns!: DnsmasqHandle;
  sinks: TestSink[] = [];
  domains: string[] = [];
  readonly dir: string;
  readonly configFile: string;
  readonly events: ClusterEvent[] = [];
  readonly #spec: ClusterSpec;
  readonly #pidDir: string;
  readonly #watchdog: ChildProcess;
  readonly #members: ServiceMember[] = [];
  readonly #ports = new Set<number>();
  #haproxy: HaproxyHandle | null = null;
  #stopping: Promise<void> | null = null;
  readonly #onProcessExit = (): void => {
    if (this.#spec.keepDir !== true) rmSync(this.dir, { recursive: true, force: true });
  };

  constructor(spec: ClusterSpec) {
    this.#spec = spec;
    this.dir = mkdtempSync(join(tmpdir(), 'petrel-cluster-'));
    this.configFile = join(this.dir, 'petrel.yaml');
    this.#pidDir = join(this.dir, 'pids');
    mkdirSync(this.#pidDir);
    mkdirSync(join(this.dir, 'logs'));
    this.#watchdog = watchPids(this.#pidDir);
    process.once('exit', this.#onProcessExit);
  }

  async start(): Promise<void> {
    const spec = this.#spec;
    this.redis = await spawnRedis({ appendonly: true, appendfsync: 'always' });
    if (spec.durability === 'replicas') this.replica = await startReplica(this.redis);
    this.sinks = await startSinks(spec.sinks ?? 1);
    const routes = sinkRoutes(this.sinks);
    this.domains = routes.map((route) => route.domain);
    this.dns = await startDns(routes);
    const config = sharedConfig({
      redisUrl: this.redis.url,
      dnsAddress: this.dns.address,
      routes,
      durability: spec.durability ?? 'fsync',
      ...(spec.config === undefined ? {} : { extra: spec.config }),
    });
    // JSON is YAML.
    writeFileSync(this.configFile, `${JSON.stringify(config, null, 2)}\n`);
    await this.#startServices();
    await this.#startHaproxy();
  }

  async #startServices(): Promise<void> {
    for (const kind of KINDS)
      for (let index = 0; index < this.#spec[kind]; index++)
        this.#members.push(await this.#member(kind, index));
    const timeout = this.#spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    await Promise.all(this.#members.map((member) => member.start(timeout)));
  }

  /** A free port none of this cluster's processes was given yet. */
  async #port(): Promise<number> {
    for (;;) {
      const port = await freePort();
      if (this.#ports.has(port)) continue;
      this.#ports.add(port);
      return port;
    }
  }

  /** A process's member, with its ports chosen and its variables set. */
  async #member(kind: ServiceKind, index: number): Promise<ServiceMember> {
    const metricsPort = await this.#port();
    const vars: Record<string, string> = {
      PETREL_CONFIG: this.configFile,
      PETREL_METRICS__PORT: String(metricsPort),
      PETREL_ADMIN__PORT: '0',
      PETREL_ROUTING__GRPC__PORT: '0',
    };
    if (kind === 'routing') {
      const grpcPort = await this.#port();
      vars['PETREL_ROUTING__GRPC__PORT'] = String(grpcPort);
      this.routingGrpcPorts.push(grpcPort);
    }
    if (kind === 'ingress') {
      const address = { index, hostname: ingressHostname(index), metricsPort };
      const proxyPort = await this.#port();
      const directPort = await this.#port();
      this.ingress.push({ ...address, proxyPort, directPort });
      vars['PETREL_INGRESS__HOSTNAME'] = address.hostname;
      vars['PETREL_INGRESS__LISTENERS'] = ingressListeners(proxyPort, directPort);
    }
    return new ServiceMember({
      kind,
      index,
      vars,
      metricsPort,
      logFile: join(this.dir, 'logs', `${kind}-${index}.log`),
      pidDir: this.#pidDir,
      restartDelayMs: this.#spec.restartDelayMs ?? DEFAULT_RESTART_DELAY_MS,
      onEvent: (event) => this.#record(event),
    });
  }

  async #startHaproxy(): Promise<void> {
    const binary = await ensureHaproxy();
    const port = await this.#port();
    const backends = this.ingress.map((ingress) => ({
      name: `ingress${ingress.index}`,
      port: ingress.proxyPort,
    }));
    this.#haproxy = await startHaproxy(binary, this.dir, port, backends);
    const { child } = this.#haproxy;
    if (child.pid !== undefined) rememberPid(this.#pidDir, 'haproxy', child.pid);
    child.once('exit', () => forgetPid(this.#pidDir, 'haproxy'));
    this.smtp = { host: '127.0.0.1', port, address: `127.0.0.1:${port}` };
    await eventually(async () => {
      if (this.#haproxy?.child.exitCode !== null)
        throw new Error(`haproxy exited; see ${this.#haproxy?.logFile}`);
      const greeting = await smtpGreeting('127.0.0.1', port);
      return greeting?.startsWith('220 ') === true ? true : undefined;
    }, this.#spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  }

  #record(event: ClusterEvent): void {
    this.events.push(event);
    this.#spec.onEvent?.(event);
  }

  #recordRedis(kind: ClusterEventKind): void {
    this.#record(stamp({ kind, target: 'redis', pid: this.redis.pid ?? 0 }));
  }

  #find(kind: ServiceKind, index: number): ServiceMember {
    const member = this.#members.find((m) => m.kind === kind && m.index === index);
    if (member === undefined) throw new RangeError(`no ${kind}[${index}] in this cluster`);
    return member;
  }

  processes(): ProcessInfo[] {
    return this.#members.map((m) => ({
      kind: m.kind,
      index: m.index,
      pid: m.pid,
      state: m.state,
      restarts: m.restarts,
      metricsPort: m.metricsPort,
      logFile: m.logFile,
    }));
  }

  kill(kind: ServiceKind, index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    return this.#find(kind, index).kill(signal);
  }

  waitReady(kind: ServiceKind, index: number, timeoutMs?: number): Promise<number> {
    return this.#find(kind, index).waitReady(timeoutMs);
  }

  restartRedis(): Promise<void> {
    return holdingLoop(async () => {
      this.#recordRedis('redis-kill');
      await this.redis.kill!();
      await this.redis.restart!();
      this.#recordRedis('redis-restart');
    });
  }

  drain(kind: ServiceKind, index: number): Promise<DrainResult> {
    return this.#find(kind, index).drain();
  }

  resume(kind: ServiceKind, index: number): Promise<number> {
    return this.#find(kind, index).resume(this.#spec.readyTimeoutMs);
  }

  pids(): number[] {
    const pids = recordedPids(this.#pidDir);
    for (const handle of [this.redis, this.replica])
      if (handle?.pid !== undefined && isAlive(handle.pid)) pids.push(handle.pid);
    return pids;
  }

  stop(): Promise<void> {
    this.#stopping ??= holdingLoop(() => this.#stopAll());
    return this.#stopping;
  }

  async #stopAll(): Promise<void> {
    await this.#stopHaproxy();
    await Promise.all(this.#members.map((member) => member.stop(STOP_GRACE_MS)));
    await Promise.all(this.sinks.map((sink) => sink.close()));
    await this.dns?.close();
    await this.replica?.stop();
    await this.redis?.stop();
    unwatchPids(this.#pidDir, this.#watchdog);
    process.off('exit', this.#onProcessExit);
    if (this.#spec.keepDir !== true) rmSync(this.dir, { recursive: true, force: true });
  }

  async #stopHaproxy(): Promise<void> {
    const child = this.#haproxy?.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}

/** Starts a cluster; on any failure stops what was started and throws. */
export function startCluster(spec: ClusterSpec): Promise<Cluster> {
  return holdingLoop(async () => {
    checkSpec(spec);
    await ensureBuilds();
    await ensureHaproxy();
    const cluster = new LocalCluster(spec);
    try {
      await cluster.start();
    } catch (err) {
      await cluster.stop().catch(() => undefined);
      throw err;
    }
    return cluster;
  });
}
