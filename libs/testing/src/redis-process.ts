// A redis-server child process owned by the test: a free 127.0.0.1 port, a
// fresh temporary directory, the durability configuration of redis-args.ts,
// ready once PING answers PONG (not LOADING). kill() is a crash (SIGKILL);
// restart() starts the same port and directory again, so the AOF is replayed.
//
// The server dies with the test process, however that ends: on 'exit' it is
// killed synchronously, and a small shell watchdog kills it when the test
// process disappears without running its exit handlers (SIGKILL, or a test
// runner that terminates its workers).
//
// Does not: daemonize, read a config file, or touch anything outside its own
// directory.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { redisConfigArgs, type RedisConfigOptions } from './redis-args.js';
import type { RedisHandle } from './redis-handle.js';
import { detach, keepLastLines } from './child-output.js';

export const INSTALL_HINT =
  'install redis-server (Debian/Ubuntu: `apt-get install -y redis-server`; macOS: `brew install redis`), ' +
  'or set REDIS_URL=redis://host:port to use a Redis that is already running, ' +
  'or start a Docker engine (testcontainers then runs redis:7)';

export interface SpawnOptions extends RedisConfigOptions {
  /** The redis-server binary; default $REDIS_SERVER, else `redis-server` on PATH. */
  readonly binary?: string;
  /** How long to wait for PING to answer; default 15 s (an AOF replay counts). */
  readonly readyTimeoutMs?: number;
}

const live = new Set<RedisProcess>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const server of live) server.killNow();
  });
}

/** Spawns a redis-server that the caller owns (kind 'process'). */
export async function spawnRedis(options: SpawnOptions = {}): Promise<RedisHandle> {
  const binary = options.binary ?? process.env['REDIS_SERVER'] ?? 'redis-server';
  let lastError: unknown = null;
  // A port can be taken between freePort() and the server's bind: try again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'petrel-redis-'));
    const server = new RedisProcess(binary, port, dir, options);
    try {
      await server.start(options.readyTimeoutMs ?? 15_000);
      return server;
    } catch (err) {
      await server.stop();
      lastError = err;
      if (!(err instanceof Error && /address already in use/i.test(err.message))) break;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

class RedisProcess implements RedisHandle {
  readonly kind = 'process' as const;
  readonly url: string;
  readonly dir: string;
  readonly #binary: string;
  readonly #port: number;
  readonly #args: string[];
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #watchdog: ChildProcess | null = null;
  #log: string[] = [];
  #stopped = false;

  constructor(binary: string, port: number, dir: string, options: RedisConfigOptions) {
    this.#binary = binary;
    this.dir = dir;
    this.url = `redis://127.0.0.1:${port}`;
    this.#args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--pidfile',
      join(dir, 'redis.pid'),
      '--daemonize',
      'no',
      ...redisConfigArgs(options),
    ];
    this.#port = port;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(readyTimeoutMs: number): Promise<void> {
    hookExit();
    live.add(this);
    this.#startWatchdog();
    await this.#launch(readyTimeoutMs);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.#exited;
    // Redis leaves its pid file behind when killed; the watchdog must not act on a stale pid.
    await rm(join(this.dir, 'redis.pid'), { force: true });
  }

  async restart(): Promise<void> {
    if (this.#stopped) throw new Error('RedisProcess.restart: the server was stopped');
    const child = this.#child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      throw new Error('RedisProcess.restart: the server is still running; kill() it first');
    }
    await this.#launch(15_000);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    live.delete(this);
    await this.kill();
    this.#child = null;
    this.#watchdog?.kill('SIGKILL');
    this.#watchdog = null;
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Synchronous, for process 'exit'. */
  killNow(): void {
    const child = this.#child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    // The watchdog stays: should the dying server still write into its
    // directory after this removal, the watchdog removes it once this process is gone.
    try {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 5 });
    } catch {
      // best effort
    }
  }

  async #launch(readyTimeoutMs: number): Promise<void> {
    const child = spawn(this.#binary, this.#args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    let spawnError: Error | null = null;
    this.#exited = new Promise((resolve) => {
      child.once('error', (err) => {
        spawnError = err;
        resolve();
      });
      child.once('exit', () => resolve());
    });
    this.#log = keepLastLines(child);
    detach(child);

    const deadline = Date.now() + readyTimeoutMs;
    let exited = false;
    void this.#exited.then(() => (exited = true));
    for (;;) {
      if (exited) {
        const err = spawnError as NodeJS.ErrnoException | null;
        if (err?.code === 'ENOENT') {
          throw new Error(`startRedis: cannot run ${this.#binary} (not found); ${INSTALL_HINT}`);
        }
        if (err !== null) throw new Error(`startRedis: cannot run ${this.#binary}: ${err.message}`);
        throw new Error(
          `startRedis: ${this.#binary} exited (code ${child.exitCode}, signal ${child.signalCode}) before answering PING:\n` +
            this.#log.join('\n'),
        );
      }
      if ((await ping(this.#port, 500)) === '+PONG') return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(
          `startRedis: ${this.#binary} did not answer PING within ${readyTimeoutMs} ms:\n${this.#log.join('\n')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Kills the server when this (test) process is gone, however it ended. */
  #startWatchdog(): void {
    if (process.platform === 'win32') return;
    const script = [
      'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done',
      'if [ -d "$2" ]; then',
      '  [ -f "$2/redis.pid" ] && kill -9 "$(cat "$2/redis.pid")" 2>/dev/null',
      '  rm -rf -- "$2"',
      'fi',
    ].join('\n');
    const watchdog = spawn(
      '/bin/sh',
      ['-c', script, 'petrel-redis-watchdog', String(process.pid), this.dir],
      {
        stdio: 'ignore',
      },
    );
    watchdog.on('error', () => undefined);
    watchdog.unref();
    this.#watchdog = watchdog;
  }
}

/** One PING over a fresh connection: the first reply line, or the error's text. */
function ping(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const done = (answer: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n');
      if (end >= 0) done(received.slice(0, end));
    });
    socket.once('error', (err) => done(err.message));
    socket.once('close', () => done(received || 'closed'));
  });
}
