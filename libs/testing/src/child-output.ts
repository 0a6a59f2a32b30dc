// What the harness's own servers (redis-server, dnsmasq) print, kept for the
// error that says why one did not start; and detaching them, so that a server
// a test forgets to stop does not keep the test process alive (the exit hook
// and the watchdog of each still kill it).

import type { ChildProcess } from 'node:child_process';

const LINES = 40;

/** The last 40 non-empty lines the child wrote to stdout and stderr. */
export function keepLastLines(child: ChildProcess): string[] {
  const lines: string[] = [];
  const remember = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > LINES) lines.shift();
    }
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);
  return lines;
}

/** unref() the child and its pipes. */
export function detach(child: ChildProcess): void {
  child.unref();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
}
