// Debian's dnsmasq as a real DNS server for interop tests: a child process on
// a free 127.0.0.1 port (UDP and TCP) serving the MX and host records it is
// given; names under the local domains that it does not know are NXDOMAIN.
// Ready once it answers a query. Its configuration file is written to a fresh
// temporary directory; `-d` keeps it in the foreground, logging to stderr,
// without a pid file and without changing user, so it runs as root and as
// any other user alike.
//
// No query it receives ever leaves the machine: no resolv.conf, no /etc/hosts,
// no upstream server at all (a name it does not know outside the local domains
// is REFUSED).
//
// The server dies with the test process, however that ends: on 'exit' it is
// killed synchronously, and a small shell watchdog kills it when the test
// process disappears without running its exit handlers.
//
// Does not: serve DHCP, DNSSEC, CNAMEs, or records other than MX, A and AAAA.

import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { freePort } from './free-port.js';
import { detach, keepLastLines } from './child-output.js';

export const DNSMASQ_INSTALL_HINT =
  'install dnsmasq (Debian/Ubuntu: `apt-get install -y dnsmasq-base`), or set DNSMASQ=/path/to/dnsmasq';

export interface DnsmasqOptions {
  /** MX records; exchange '.' or '' is the null MX (RFC 7505). */
  readonly mx?: readonly { name: string; exchange: string; preference: number }[];
  /** A (IPv4) and AAAA (IPv6) records, by the address's family. */
  readonly hosts?: readonly { name: string; address: string }[];
  /** Domains dnsmasq is authoritative for: unknown names under them are NXDOMAIN. */
  readonly localDomains?: readonly string[];
  /** TTL of every answer, in seconds (dnsmasq's local-ttl); default 60. */
  readonly ttl?: number;
  /** The binary; default $DNSMASQ, else /usr/sbin/dnsmasq, else `dnsmasq` on PATH. */
  readonly binary?: string;
  /** How long to wait for the first answer; default 5 s. */
  readonly readyTimeoutMs?: number;
}

export interface DnsmasqHandle {
  readonly host: string;
  readonly port: number;
  /** '127.0.0.1:<port>', ready for routing.dns.servers. */
  readonly address: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const live = new Set<DnsmasqProcess>();
let exitHooked = false;

/** The dnsmasq binary this machine has, or null. */
export function dnsmasqBinary(): string | null {
  const configured = process.env['DNSMASQ'];
  if (configured !== undefined && configured !== '') return configured;
  for (const dir of ['/usr/sbin', '/usr/local/sbin', '/sbin', ...pathDirs()]) {
    const candidate = join(dir, 'dnsmasq');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

export async function startDnsmasq(options: DnsmasqOptions = {}): Promise<DnsmasqHandle> {
  const binary = options.binary ?? dnsmasqBinary();
  if (binary === null) throw new Error(`startDnsmasq: dnsmasq not found; ${DNSMASQ_INSTALL_HINT}`);
  hookExit();
  let lastError: unknown = null;
  // A port can be taken between freePort() and dnsmasq's bind: try again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const server = new DnsmasqProcess(binary, await freePort(), options);
    try {
      await server.start(options.readyTimeoutMs ?? 5_000, readyName(options));
      return server;
    } catch (err) {
      await server.close();
      lastError = err;
      if (!(err instanceof Error && /address already in use/i.test(err.message))) break;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

/** The configuration file: one option a line, as dnsmasq.conf(5) reads it. */
export function dnsmasqConfig(port: number, options: DnsmasqOptions): string {
  const lines = [
    `port=${port}`,
    `listen-address=${HOST}`,
    'bind-interfaces',
    // Never forward: no resolv.conf, no upstream servers, no /etc/hosts.
    'no-resolv',
    'no-poll',
    'no-hosts',
    'log-facility=-',
    `local-ttl=${options.ttl ?? 60}`,
    'cache-size=0',
  ];
  for (const domain of options.localDomains ?? []) lines.push(`local=/${bare(domain)}/`);
  for (const mx of options.mx ?? []) {
    const exchange = mx.exchange === '' || mx.exchange === '.' ? '.' : bare(mx.exchange);
    lines.push(`mx-host=${bare(mx.name)},${exchange},${mx.preference}`);
  }
  for (const host of options.hosts ?? []) {
    if (isIP(host.address) === 0) {
      throw new Error(`startDnsmasq: ${host.name}: "${host.address}" is not an IP address`);
    }
    lines.push(`host-record=${bare(host.name)},${host.address}`);
  }
  return lines.join('\n') + '\n';
}

class DnsmasqProcess implements DnsmasqHandle {
  readonly host = HOST;
  readonly port: number;
  readonly address: string;
  readonly #binary: string;
  readonly #dir: string;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #watchdog: ChildProcess | null = null;
  #log: string[] = [];
  #closed = false;

  constructor(binary: string, port: number, options: DnsmasqOptions) {
    this.#binary = binary;
    this.port = port;
    this.address = `${HOST}:${port}`;
    this.#dir = mkdtempSync(join(tmpdir(), 'petrel-dnsmasq-'));
    writeFileSync(join(this.#dir, 'dnsmasq.conf'), dnsmasqConfig(port, options));
  }

  async start(readyTimeoutMs: number, probe: string): Promise<void> {
    live.add(this);
    const args = ['-d', `--conf-file=${join(this.#dir, 'dnsmasq.conf')}`];
    const child = spawn(this.#binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    let spawnError: NodeJS.ErrnoException | null = null;
    let exited = false;
    this.#exited = new Promise((resolve) => {
      child.once('error', (err) => {
        spawnError = err;
        resolve();
      });
      child.once('exit', () => resolve());
    });
    void this.#exited.then(() => (exited = true));
    this.#log = keepLastLines(child);
    detach(child);
    if (child.pid !== undefined) this.#startWatchdog(child.pid);

    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (exited) {
        const err = spawnError as NodeJS.ErrnoException | null;
        if (err?.code === 'ENOENT') {
          throw new Error(
            `startDnsmasq: cannot run ${this.#binary} (not found); ${DNSMASQ_INSTALL_HINT}`,
          );
        }
        if (err !== null)
          throw new Error(`startDnsmasq: cannot run ${this.#binary}: ${err.message}`);
        throw new Error(
          `startDnsmasq: ${this.#binary} exited (code ${child.exitCode}, signal ${child.signalCode}) before answering:\n` +
            this.#log.join('\n'),
        );
      }
      if (await answers(this.port, probe, 200)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `startDnsmasq: ${this.#binary} did not answer within ${readyTimeoutMs} ms:\n${this.#log.join('\n')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    live.delete(this);
    const child = this.#child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    await this.#exited;
    this.#watchdog?.kill('SIGKILL');
    this.#watchdog = null;
    await rm(this.#dir, { recursive: true, force: true });
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
    try {
      rmSync(this.#dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }

  /** Kills dnsmasq once this (test) process is gone, unless close() removed the directory. */
  #startWatchdog(pid: number): void {
    if (process.platform === 'win32') return;
    const script = [
      'while kill -0 "$1" 2>/dev/null && [ -d "$3" ]; do sleep 1; done',
      'if [ -d "$3" ]; then kill -9 "$2" 2>/dev/null; rm -rf -- "$3"; fi',
    ].join('\n');
    const watchdog = spawn(
      '/bin/sh',
      ['-c', script, 'petrel-dnsmasq-watchdog', String(process.pid), String(pid), this.#dir],
      { stdio: 'ignore' },
    );
    watchdog.on('error', () => undefined);
    watchdog.unref();
    this.#watchdog = watchdog;
  }
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const server of live) server.killNow();
  });
}

/** A name to ask while waiting for dnsmasq: any reply at all means it is serving. */
function readyName(options: DnsmasqOptions): string {
  const local = options.localDomains?.[0];
  if (local !== undefined) return `petrel-ready.${bare(local)}`;
  return options.hosts?.[0]?.name ?? options.mx?.[0]?.name ?? 'petrel-ready.test';
}

/** One A query over UDP: true when any reply comes back in time. */
function answers(port: number, name: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('error', () => done(false));
    socket.on('message', () => done(true));
    const query = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name }] });
    // Connected, so that a port nobody listens on yet fails at once (ECONNREFUSED).
    socket.once('connect', () =>
      socket.send(query, (err) => {
        if (err) done(false);
      }),
    );
    socket.connect(port, HOST);
  });
}

function bare(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function pathDirs(): string[] {
  return (process.env['PATH'] ?? '').split(':').filter((dir) => dir !== '');
}
