// Redis in a container (testcontainers, image redis:7), used when a Docker API
// answers. The probe is quick and silent: DOCKER_HOST, else the usual socket
// paths, each asked GET /_ping with a short timeout; any HTTP answer counts
// (a TLS endpoint answering plain HTTP with 400 is still a Docker engine,
// and testcontainers does the real negotiation). testcontainers is loaded
// only after the probe succeeds, so machines without Docker never pay for it.
//
// Does not: support kill/restart (tests that crash Redis ask for `own`, a
// process they control), or pull images when no engine answers.

import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { redisConfigArgs, type RedisConfigOptions } from './redis-args.js';
import type { RedisHandle } from './redis-handle.js';

export const REDIS_IMAGE = 'redis:7';

type Endpoint = { socketPath: string } | { host: string; port: number };

function endpoints(env: NodeJS.ProcessEnv): Endpoint[] {
  const dockerHost = env['DOCKER_HOST'];
  if (dockerHost !== undefined && dockerHost !== '') {
    if (dockerHost.startsWith('unix://'))
      return [{ socketPath: dockerHost.slice('unix://'.length) }];
    const tcp = /^(?:tcp|http|https):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?/.exec(dockerHost);
    if (tcp !== null) {
      const host = (tcp[1] ?? '').replace(/^\[|\]$/g, '');
      return [{ host, port: Number(tcp[2] ?? 2375) }];
    }
    return [];
  }
  const candidates = ['/var/run/docker.sock', join(homedir(), '.docker', 'run', 'docker.sock')];
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  if (runtimeDir !== undefined && runtimeDir !== '')
    candidates.push(join(runtimeDir, 'docker.sock'));
  return candidates.filter((path) => existsSync(path)).map((socketPath) => ({ socketPath }));
}

function pingDocker(endpoint: Endpoint, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { ...endpoint, path: '/_ping', method: 'GET', timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve(true);
      },
    );
    req.once('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.once('error', () => resolve(false));
    req.end();
  });
}

/** True when a Docker API answers within timeoutMs. Never throws. */
export async function dockerAnswers(
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 500,
): Promise<boolean> {
  for (const endpoint of endpoints(env)) {
    if (await pingDocker(endpoint, timeoutMs)) return true;
  }
  return false;
}

export async function startRedisContainer(options: RedisConfigOptions): Promise<RedisHandle> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(REDIS_IMAGE)
    .withCommand(['redis-server', ...redisConfigArgs(options)])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .withStartupTimeout(60_000)
    .start();
  let stopped = false;
  return {
    kind: 'container',
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await container.stop({ timeout: 1_000 });
    },
  };
}
