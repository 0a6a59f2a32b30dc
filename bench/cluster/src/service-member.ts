// One Petrel service process of a cluster, supervised the way a Kubernetes
// Deployment keeps its pods: `node apps/<kind>/dist/main.js` with the
// cluster's configuration file and its own PETREL_* variables, its output in
// its own log file; when it exits without being asked to (a kill(), a crash),
// it is started again after restartDelayMs, doubled for each exit within
// 10 s of its start (as CrashLoopBackOff), at most 10 s. drain() is the
// rolling update's SIGTERM: the process is not started again until resume().
//
// Does not: choose ports or write the configuration (cluster.ts does), or
// pass on the caller's own PETREL_* variables and NODE_OPTIONS (as
// @petrel/testing's spawnService: only what the cluster gives).

import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { eventually, forgetPid, rememberPid, REPOSITORY_ROOT } from '@petrel/testing';
import { stamp, type ClusterEventKind, type EventSink } from './events.js';
import { spawnLogged } from './log-file.js';
import { readyzStatus } from './probe.js';

export type ServiceKind = 'ingress' | 'routing' | 'egress';

export type MemberState = 'running' | 'restarting' | 'drained' | 'stopped';

export interface ExitInfo {
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface DrainResult extends ExitInfo {
  /** From the SIGTERM to the exit. */
  readonly elapsedMs: number;
}

export interface MemberOptions {
  readonly kind: ServiceKind;
  readonly index: number;
  /** The PETREL_* variables of this process (PETREL_CONFIG included). */
  readonly vars: Record<string, string>;
  readonly metricsPort: number;
  readonly logFile: string;
  readonly pidDir: string;
  readonly restartDelayMs: number;
  readonly onEvent: EventSink;
}

const MAX_BACKOFF_MS = 10_000;
const QUICK_EXIT_MS = 10_000;
const READY_AFTER_RESTART_MS = 60_000;

/** The caller's environment without PETREL_* and NODE_OPTIONS, plus `vars`. */
function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('PETREL_') && key !== 'NODE_OPTIONS') env[key] = value;
  return { ...env, ...vars };
}

export class ServiceMember {
  readonly kind: ServiceKind;
  readonly index: number;
  readonly name: string;
  readonly metricsPort: number;
  readonly logFile: string;
  readonly #options: MemberOptions;
  #child: ChildProcess | null = null;
  #exited: Promise<ExitInfo> = Promise.resolve({ pid: 0, code: null, signal: null });
  #state: MemberState = 'stopped';
  #timer: NodeJS.Timeout | null = null;
  #startedAt = 0;
  #quickExits = 0;
  #restarts = 0;

  constructor(options: MemberOptions) {
    this.#options = options;
    this.kind = options.kind;
    this.index = options.index;
    this.name = `${options.kind}[${options.index}]`;
    this.metricsPort = options.metricsPort;
    this.logFile = options.logFile;
  }

  /** The running process's id; undefined while it is down. */
  get pid(): number | undefined {
    const child = this.#child;
    return child !== null && child.exitCode === null && child.signalCode === null
      ? child.pid
      : undefined;
  }

  get state(): MemberState {
    return this.#state;
  }

  /** How many times the supervisor (or resume()) started it again. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Starts the process; resolves once /readyz answers 200. */
  async start(readyTimeoutMs: number): Promise<void> {
    this.#state = 'running';
    this.#spawn();
    await this.waitReady(readyTimeoutMs);
  }

  /** Resolves once the process runs and /readyz answers 200; rejects if it does not in time. */
  async waitReady(timeoutMs = 20_000): Promise<number> {
    return eventually(async () => {
      if (this.#state === 'stopped' || this.#state === 'drained')
        throw new Error(`${this.name} is ${this.#state}`);
      const pid = this.pid;
      if (pid === undefined) return undefined;
      return (await readyzStatus(this.metricsPort)) === 200 ? pid : undefined;
    }, timeoutMs).catch((err: unknown) => {
      throw new Error(`${this.name} not ready (log: ${this.logFile}): ${String(err)}`);
    });
  }

  /** Sends `signal`; resolves when that process exited (the supervisor then starts it again). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    const pid = this.pid;
    if (this.#state !== 'running' || pid === undefined)
      throw new Error(`${this.name} is not running (${this.#state})`);
    this.#emit('kill', { pid, signal });
    this.#child!.kill(signal);
    return this.#exited;
  }

  /** SIGTERM, and no restart until resume(): the exit and how long it took. */
  async drain(): Promise<DrainResult> {
    this.#clearTimer();
    const pid = this.pid;
    this.#state = 'drained';
    const started = Date.now();
    this.#emit('drain', { pid: pid ?? 0, signal: 'SIGTERM' });
    if (pid !== undefined) this.#child!.kill('SIGTERM');
    const exit = await this.#exited;
    const result = { ...exit, elapsedMs: Date.now() - started };
    this.#emit('drained', { pid: exit.pid, code: exit.code, signal: exit.signal });
    return result;
  }

  /** Starts a drained process again; resolves once it is ready. */
  async resume(readyTimeoutMs = 20_000): Promise<number> {
    if (this.#state !== 'drained') throw new Error(`${this.name} is not drained (${this.#state})`);
    this.#state = 'running';
    this.#restarts++;
    this.#spawn();
    this.#emit('resume', { pid: this.pid ?? 0 });
    return this.waitReady(readyTimeoutMs);
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves once it exited. Idempotent. */
  async stop(graceMs: number): Promise<void> {
    this.#state = 'stopped';
    this.#clearTimer();
    const child = this.#child;
    if (child === null || this.pid === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  #spawn(): void {
    const options = this.#options;
    const child = spawnLogged({
      command: process.execPath,
      args: [join(REPOSITORY_ROOT, 'apps', options.kind, 'dist/main.js')],
      env: childEnv(options.vars),
      cwd: REPOSITORY_ROOT,
      logFile: options.logFile,
      marker: `cluster: starting ${this.name}`,
    });
    const pid = child.pid ?? 0;
    this.#child = child;
    this.#startedAt = Date.now();
    if (pid > 0) rememberPid(options.pidDir, `${options.kind}-${options.index}`, pid);
    this.#exited = new Promise((resolve) => {
      const exited = (code: number | null, signal: NodeJS.Signals | null): void => {
        forgetPid(options.pidDir, `${options.kind}-${options.index}`);
        resolve({ pid, code, signal });
        this.#onExit(pid, code, signal);
      };
      child.once('exit', exited);
      child.once('error', () => {
        if (child.exitCode === null && child.signalCode === null) exited(null, null);
      });
    });
  }

  /** An exit nobody asked for (kill() counts): start again after the delay. */
  #onExit(pid: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#state !== 'running' || this.#child?.pid !== pid) return;
    this.#emit('exit', { pid, code, signal });
    this.#state = 'restarting';
    this.#quickExits = Date.now() - this.#startedAt < QUICK_EXIT_MS ? this.#quickExits + 1 : 0;
    const delay = Math.min(
      this.#options.restartDelayMs * 2 ** Math.max(0, this.#quickExits - 1),
      MAX_BACKOFF_MS,
    );
    this.#timer = setTimeout(() => this.#restart(), delay);
  }

  #restart(): void {
    this.#timer = null;
    if (this.#state !== 'restarting') return;
    this.#state = 'running';
    this.#restarts++;
    this.#spawn();
    const pid = this.pid ?? 0;
    this.#emit('restart', { pid });
    this.waitReady(READY_AFTER_RESTART_MS).then(
      (readyPid) => {
        if (readyPid === pid) this.#emit('ready', { pid });
      },
      () => undefined,
    );
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #emit(
    kind: ClusterEventKind,
    fields: { pid: number; signal?: string | null; code?: number | null },
  ): void {
    this.#options.onEvent(stamp({ kind, target: this.name, ...fields }));
  }
}
