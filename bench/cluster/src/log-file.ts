// A child process's output, straight into a log file: stdout and stderr are
// the file itself (opened for appending), not a pipe, so that nothing is held
// in the supervisor's memory however long the cluster runs, and the lines are
// there even when the supervisor is busy or gone. A restart appends to the
// same file after a marker line (not JSON, so the services' JSON lines still
// parse on their own).
//
// Does not: rotate or truncate the file.

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync } from 'node:fs';

export interface LoggedSpawn {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly logFile: string;
  /** Written on a line of its own before the child starts. */
  readonly marker: string;
}

/** Spawns the child with its stdout and stderr appended to logFile. */
export function spawnLogged(options: LoggedSpawn): ChildProcess {
  appendFileSync(options.logFile, `# ${new Date().toISOString()} ${options.marker}\n`);
  const fd = openSync(options.logFile, 'a');
  try {
    return spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
}
