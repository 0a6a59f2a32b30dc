// The JSON-lines logger every service writes with (pino): one object per line
// on stdout, with the service, pid and hostname on every line, the time in
// ISO 8601 and the level as its name ("info", not 30), which log pipelines
// (Loki, Cloud Logging, Elasticsearch) read without configuration.
//
// Does not: pretty-print (pipe through pino-pretty for that), rotate files
// (the container runtime collects stdout), or decide what is logged: ingress
// writes one line per SMTP transaction outcome.

import { hostname } from 'node:os';
import {
  pino,
  stdTimeFunctions,
  type DestinationStream,
  type Logger,
  type LoggerOptions,
} from 'pino';

export type { Logger } from 'pino';

/** Gathered before one write to stdout. */
const BUFFER_BYTES = 4096;
/** The longest a line waits in the buffer. */
const FLUSH_MS = 200;

export interface CreateLoggerOptions {
  /** "ingress", "routing", "egress", ...: on every line as `service`. */
  service: string;
  /** fatal, error, warn, info (default), debug, trace, or silent. */
  level?: string;
  /**
   * Where the lines go; default stdout through pino's asynchronous writer,
   * which gathers lines up to 4 KiB (one system call per 4 KiB, not per line)
   * and is flushed every 200 ms and when the process exits. A SIGKILL may lose
   * the last 200 ms of lines.
   */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const level = options.level ?? 'info';
  if (!Object.hasOwn(pino.levels.values, level) && level !== 'silent') {
    const known = Object.keys(pino.levels.values).join(', ');
    throw new RangeError(`unknown log level ${JSON.stringify(level)} (one of ${known}, silent)`);
  }
  const settings: LoggerOptions = {
    level,
    base: { service: options.service, pid: process.pid, hostname: hostname() },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (options.destination === undefined) {
    const stdout = pino.destination({ dest: 1, sync: false, minLength: BUFFER_BYTES });
    setInterval(() => stdout.flush(), FLUSH_MS).unref();
    return pino(settings, stdout);
  }
  return pino(settings, options.destination as DestinationStream);
}
