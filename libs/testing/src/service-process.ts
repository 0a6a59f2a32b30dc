// A Petrel service as an operator runs it: `node apps/<service>/dist/main.js`,
// configured only by the PETREL_* variables a test gives (the test runner's
// own PETREL_* and NODE_OPTIONS are not passed on). The build is Nx's build
// target, which the test target depends on; when a test file runs alone and a
// build is missing or older than its sources, ensureBuilt() runs it.
//
// Does not: wait for readiness (each service says ready its own way).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root (libs/testing/src/.. or dist/..). */
export const REPOSITORY_ROOT = join(import.meta.dirname, '../../..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.spec.ts')) continue;
    newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Builds `nxProject` (and so its libraries) when one of `projects` (paths
 * from the root, e.g. "apps/routing", "libs/queue") has no dist or a source
 * newer than it.
 */
export async function ensureBuilt(nxProject: string, projects: readonly string[]): Promise<void> {
  const stale = projects.some((project) => {
    const output = join(
      REPOSITORY_ROOT,
      project,
      'dist',
      project.startsWith('apps/') ? 'main.js' : 'index.js',
    );
    return (
      !existsSync(output) ||
      newestSource(join(REPOSITORY_ROOT, project, 'src')) > statSync(output).mtimeMs
    );
  });
  if (!stale) return;
  await run('npx', ['nx', 'run', `${nxProject}:build`, '--outputStyle=static'], {
    cwd: REPOSITORY_ROOT,
    timeout: 240_000,
  });
}

/** The libraries any service is built from: a source newer than its dist means a rebuild. */
const SERVICE_LIBS = [
  'libs/config',
  'libs/dns',
  'libs/dsn',
  'libs/observability',
  'libs/proto',
  'libs/queue',
  'libs/service',
  'libs/smtp',
];

/** ensureBuilt for one of the apps (ingress, routing, egress, relayctl) and the libraries. */
export function ensureServiceBuilt(app: string): Promise<void> {
  return ensureBuilt(`@petrel/${app}`, [`apps/${app}`, ...SERVICE_LIBS]);
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `node apps/<service>/dist/main.js` with exactly these PETREL_* variables. */
export function spawnService(service: string, vars: Record<string, string>): ServiceProcess {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('PETREL_') && k !== 'NODE_OPTIONS') env[k] = v;
  const child = spawn(process.execPath, [join(REPOSITORY_ROOT, 'apps', service, 'dist/main.js')], {
    cwd: REPOSITORY_ROOT,
    env: { ...env, ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, exited, stdout: () => out, stderr: () => err };
}

/** SIGKILLs every service process still running (for afterEach). */
export function killServices(): void {
  for (const child of running) child.kill('SIGKILL');
}
