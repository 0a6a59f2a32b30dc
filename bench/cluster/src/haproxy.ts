// HAProxy in front of the ingress processes, as a cloud load balancer with
// the PROXY protocol in front of the chart's ingress Service: TCP mode on
// 127.0.0.1:<port>, round robin over the ingress PROXY listeners with a PROXY
// v2 header on every connection (send-proxy-v2), an SMTP health check every
// 500 ms carrying a header too (check-send-proxy: v2 LOCAL, which ingress
// accepts), and a connection refused by a dead ingress retried on another
// (retries, option redispatch). Debian's haproxy; installed with apt-get when
// missing and running as root, otherwise the error says how.
//
// Does not: terminate TLS, keep statistics, or restart HAProxy when it dies
// (the cluster's supervisor restarts Petrel's processes, not this one). Its
// log (one line per connection) goes to its own file in the cluster's
// directory.

import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnLogged } from './log-file.js';

const run = promisify(execFile);

export const HAPROXY_INSTALL_HINT =
  'install HAProxy (Debian/Ubuntu: `apt-get install -y haproxy`), or set HAPROXY=/path/to/haproxy';

export interface HaproxyBackend {
  readonly name: string;
  readonly port: number;
}

export interface HaproxyHandle {
  readonly child: ChildProcess;
  readonly configFile: string;
  readonly logFile: string;
}

function pathDirs(): string[] {
  return (process.env['PATH'] ?? '').split(':').filter((dir) => dir !== '');
}

/** The haproxy binary this machine has, or null. */
export function haproxyBinary(): string | null {
  const configured = process.env['HAPROXY'];
  if (configured !== undefined && configured !== '') return configured;
  for (const dir of ['/usr/sbin', '/usr/local/sbin', '/sbin', ...pathDirs()]) {
    const candidate = join(dir, 'haproxy');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

async function aptInstall(): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', 'haproxy'], { env, timeout: 300_000 });
  try {
    await install();
  } catch {
    await run('apt-get', ['update'], { env, timeout: 300_000 });
    await install();
  }
}

/** The binary, installing Debian's package first when missing and running as root. */
export async function ensureHaproxy(): Promise<string> {
  const found = haproxyBinary();
  if (found !== null) return found;
  if (process.getuid?.() !== 0) throw new Error(`haproxy not found; ${HAPROXY_INSTALL_HINT}`);
  try {
    await aptInstall();
  } catch (err) {
    throw new Error(
      `haproxy not found and apt-get failed (${String(err)}); ${HAPROXY_INSTALL_HINT}`,
    );
  }
  const installed = haproxyBinary();
  if (installed === null) throw new Error(`haproxy still not found; ${HAPROXY_INSTALL_HINT}`);
  return installed;
}

/** haproxy.cfg: one frontend on 127.0.0.1:port, the backends behind it. */
export function haproxyConfig(port: number, backends: readonly HaproxyBackend[]): string {
  const lines = [
    'global',
    '  maxconn 4096',
    '  log stdout format raw local0 info',
    '',
    'defaults',
    '  mode tcp',
    '  log global',
    '  option tcplog',
    '  timeout connect 1s',
    '  timeout client 10m',
    '  timeout server 10m',
    '  timeout check 2s',
    '  retries 3',
    '  option redispatch 1',
    '',
    'frontend smtp',
    `  bind 127.0.0.1:${port}`,
    '  default_backend ingress',
    '',
    'backend ingress',
    '  balance roundrobin',
    '  option smtpchk EHLO haproxy.cluster.test',
    '  default-server send-proxy-v2 check check-send-proxy inter 500ms fall 1 rise 1',
    ...backends.map((backend) => `  server ${backend.name} 127.0.0.1:${backend.port}`),
  ];
  return lines.join('\n') + '\n';
}

/** Checks the configuration (haproxy -c) and starts HAProxy in the foreground. */
export async function startHaproxy(
  binary: string,
  dir: string,
  port: number,
  backends: readonly HaproxyBackend[],
): Promise<HaproxyHandle> {
  const configFile = join(dir, 'haproxy.cfg');
  const logFile = join(dir, 'haproxy.log');
  writeFileSync(configFile, haproxyConfig(port, backends));
  await run(binary, ['-c', '-q', '-f', configFile], { timeout: 10_000 });
  const child = spawnLogged({
    command: binary,
    args: ['-db', '-f', configFile],
    env: process.env,
    cwd: dir,
    logFile,
    marker: 'cluster: starting haproxy',
  });
  return { child, configFile, logFile };
}
