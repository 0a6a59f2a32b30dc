// `npm start`: the whole relay on one machine, from the configuration file named
// by PETREL_CONFIG (or the defaults). When no `redis.url` is configured it
// starts its own Redis (AOF, appendfsync always, noeviction) with its data in
// .petrel/redis, so that what was accepted survives a restart. Each service
// runs as its own process, as a Deployment would run it (routing, egress,
// ingress); Ctrl-C or SIGTERM drains them, then stops Redis.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@petrel/config';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = loadConfig();
const children = [];
let stopping = false;

function run(name, command, args, env = {}) {
  const child = spawn(command, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...env },
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`petrel: ${name} exited (${signal ?? code}); stopping`);
      void stop(1);
    }
  });
  children.push({ name, child });
  return child;
}

function waitForPort(port, host, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = createConnection({ port, host }, () => {
        socket.end();
        resolve();
      });
      socket.on('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing answers on ${host}:${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

async function stop(code = 0) {
  stopping = true;
  // Services first (they drain), Redis last.
  for (const { child } of [...children].reverse()) {
    if (child.exitCode !== null) continue;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

let redisUrl = config.redis.url;
if (redisUrl === null) {
  const port = Number(process.env.PETREL_LOCAL_REDIS_PORT ?? 6380);
  const dir = join(root, '.petrel', 'redis');
  mkdirSync(dir, { recursive: true });
  run('redis', 'redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ]);
  await waitForPort(port, '127.0.0.1', 10_000);
  redisUrl = `redis://127.0.0.1:${port}`;
  console.log(`petrel: started a local Redis on 127.0.0.1:${port} (data in .petrel/redis)`);
}

// Routing first, so that ingress can ask it at RCPT time (ingress.resolve,
// when configured); then egress. One machine runs every service, so each gets
// its own metrics port: ingress metrics.port, routing the next one, egress the
// one after (0 stays 0).
const metricsPort = (offset) => (config.metrics.port === 0 ? 0 : config.metrics.port + offset);
const grpc = config.routing.grpc;
run('routing', process.execPath, [join(root, 'apps/routing/dist/main.js')], {
  PETREL_REDIS__URL: redisUrl,
  PETREL_METRICS__PORT: String(metricsPort(1)),
});
if (grpc.port !== 0) await waitForPort(grpc.port, grpc.host, 20_000);
console.log(`petrel: routing answers Resolve on ${grpc.host}:${grpc.port}`);
run('egress', process.execPath, [join(root, 'apps/egress/dist/main.js')], {
  PETREL_REDIS__URL: redisUrl,
  PETREL_METRICS__PORT: String(metricsPort(2)),
});

run('ingress', process.execPath, [join(root, 'apps/ingress/dist/main.js')], {
  PETREL_REDIS__URL: redisUrl,
});
const listener = config.ingress.listeners[0];
await waitForPort(listener.port, listener.host, 20_000);
console.log(
  `petrel: ingress accepts SMTP on ${listener.host}:${listener.port}; metrics on http://${config.metrics.host}:${config.metrics.port}/metrics`,
);
