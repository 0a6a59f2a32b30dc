// What makes a test's processes die with the process that started them,
// however that ends: each child's pid is in a file `<name>.pid` in a
// directory while it runs (written here, or by the child itself, as Redis's
// `pidfile` does); on 'exit' every pid still there is SIGKILLed
// synchronously, and a small shell watchdog SIGKILLs them once the starting
// process is gone without running its exit handlers (SIGKILL, a test runner
// that terminates its workers). Used by bench/cluster and the Sentinel group;
// a single Redis and dnsmasq have watchdogs of their own.
//
// Does not: wait for the processes to exit, or remove the directory (the
// owner's stop() does both).

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dirs = new Set<string>();
let hooked = false;

/** The pid file of a named process in `dir`. */
function pidFile(dir: string, name: string): string {
  return join(dir, `${name}.pid`);
}

export function rememberPid(dir: string, name: string, pid: number): void {
  writeFileSync(pidFile(dir, name), `${pid}\n`);
}

export function forgetPid(dir: string, name: string): void {
  rmSync(pidFile(dir, name), { force: true });
}

/** Every pid recorded in `dir` now. */
export function recordedPids(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.pid'));
  } catch {
    return [];
  }
  return names
    .map((name) => Number.parseInt(readFileSync(join(dir, name), 'utf8'), 10))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

/** SIGKILLs every pid recorded in `dir`, synchronously. */
export function killRecorded(dir: string): void {
  for (const pid of recordedPids(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const dir of dirs) killRecorded(dir);
  });
}

/** Starts watching `dir`: the exit hook and the shell watchdog. Returns the watchdog. */
export function watchPids(dir: string): ChildProcess {
  hookExit();
  dirs.add(dir);
  const script = [
    'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done',
    'if [ -d "$2" ]; then',
    '  for f in "$2"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done',
    'fi',
  ].join('\n');
  const watchdog = spawn(
    '/bin/sh',
    ['-c', script, 'petrel-pid-watchdog', String(process.pid), dir],
    { stdio: 'ignore' },
  );
  watchdog.on('error', () => undefined);
  watchdog.unref();
  return watchdog;
}

/** Stops watching `dir` (after its processes were stopped). */
export function unwatchPids(dir: string, watchdog: ChildProcess): void {
  dirs.delete(dir);
  watchdog.kill('SIGKILL');
}
