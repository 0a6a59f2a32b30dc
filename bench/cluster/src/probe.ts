// Readiness as a cluster sees it: a service's /readyz answering 200 on its
// metrics port, and an SMTP server (or HAProxy in front of one) sending its
// 220 greeting; and whether a process id is still alive.
//
// Does not: retry (callers poll with eventually()), or speak SMTP beyond the
// greeting (the connection is closed right after it, without QUIT).

import { connect } from 'node:net';

/** The status of GET http://127.0.0.1:<port>/readyz, or null when nothing answers. */
export async function readyzStatus(port: number, timeoutMs = 1_000): Promise<number | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return null;
  }
}

/** The first reply line of an SMTP server at host:port, or null (refused, closed, timed out). */
export function smtpGreeting(
  host: string,
  port: number,
  timeoutMs = 2_000,
): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let received = '';
    const done = (line: string | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(line);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n');
      if (end >= 0) done(received.slice(0, end));
    });
    socket.once('error', () => done(null));
    socket.once('close', () => done(null));
  });
}

/** True while a process with this id exists (signal 0). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
