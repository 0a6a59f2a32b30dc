// What configuration-reload tests share: the file written the way editors and
// ConfigMaps replace it (beside, then renamed over), and the services' JSON log
// lines read back, from a process's stdout or captured from an in-process
// logger (pino's `destination`).

import { renameSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';

/** A pino line as the reload tests read it (config-watcher.ts's fields). */
export interface LogLine {
  readonly level: number | string;
  readonly msg: string;
  readonly event?: string;
  readonly outcome?: string;
  readonly trigger?: string;
  readonly key?: string;
  readonly problem?: string;
  readonly applied?: string[];
  readonly restart?: string[];
}

/** Writes the file beside its final name, then renames it over: an atomic replace. */
export function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

/** The configuration file, replaced whole: JSON is YAML. */
export function writeConfig(path: string, doc: unknown): void {
  replaceFile(path, `${JSON.stringify(doc, null, 2)}\n`);
}

/** The JSON lines of a process's output. */
export function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** A stream for a logger's destination, and the lines written to it so far. */
export function captureLog(): { destination: Writable; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...logLines(chunk.toString('utf8')));
      done();
    },
  });
  return { destination, lines };
}
