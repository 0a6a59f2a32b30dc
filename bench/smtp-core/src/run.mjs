// Benchmarks of the SMTP protocol core on one core: MB/s through the DATA
// reader (the ingress hot path), MB/s through the dot-stuffer (egress), and
// commands/s through the command parser. Each figure is the median of five
// runs of at least a second each, with min and max; the table goes to stdout
// and the figures to results/latest.json.
//
// Pinning: when `taskset` exists and this process may run on more than one
// CPU, it runs itself again under `taskset -c 0`. The output says which.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataReader, DEFAULT_LIMITS, DotStuffer, LineReader, parseCommand } from '@petrel/smtp';
import { COMMAND_MIX, messageBody, wireChunks } from './workloads.mjs';

const RUNS = 5;
const RUN_SECONDS = 1;
const CHUNK = 64 * 1024;
const here = dirname(fileURLToPath(import.meta.url));

function allowedCpus() {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    return /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1]?.trim() ?? null;
  } catch {
    return null;
  }
}

function pinToOneCore() {
  const cpus = allowedCpus();
  if (process.env.PETREL_BENCH_PINNED !== undefined || cpus === null || /^\d+$/.test(cpus)) return;
  if (spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status !== 0) return;
  const args = ['-c', '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const child = spawnSync('taskset', args, {
    stdio: 'inherit',
    env: { ...process.env, PETREL_BENCH_PINNED: 'taskset -c 0' },
  });
  process.exit(child.status ?? 1);
}

function pinning() {
  if (process.env.PETREL_BENCH_PINNED !== undefined) return process.env.PETREL_BENCH_PINNED;
  const cpus = allowedCpus();
  return cpus !== null && /^\d+$/.test(cpus)
    ? `pinned to CPU ${cpus}`
    : `not pinned (CPUs ${cpus ?? 'unknown'})`;
}

/**
 * Runs `work` (which processes `units` of something per call) for at least
 * RUN_SECONDS, RUNS times after a warm-up; returns units per second.
 */
function measure(work, units) {
  let sink = 0;
  const deadline = (seconds) => process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  for (const end = deadline(0.5); process.hrtime.bigint() < end;) sink += work();
  const rates = [];
  for (let run = 0; run < RUNS; run++) {
    globalThis.gc?.();
    let calls = 0;
    const start = process.hrtime.bigint();
    const end = start + BigInt(RUN_SECONDS * 1e9);
    let now = start;
    while (now < end) {
      for (let i = 0; i < 16; i++) sink += work();
      calls += 16;
      now = process.hrtime.bigint();
    }
    rates.push((calls * units) / (Number(now - start) / 1e9));
  }
  if (sink === 0.5) console.log('unreachable'); // keeps `sink` alive
  const sorted = [...rates].sort((x, y) => x - y);
  return {
    median: sorted[Math.floor(RUNS / 2)],
    min: sorted[0],
    max: sorted[RUNS - 1],
    runs: rates,
  };
}

function dataReaderCase(name, size) {
  const { wire, chunks } = wireChunks(messageBody(size), CHUNK);
  const limits = { textLine: DEFAULT_LIMITS.textLine, messageSize: DEFAULT_LIMITS.messageSize };
  const once = () => {
    const reader = new DataReader(limits);
    let end = null;
    for (const chunk of chunks) end = reader.push(chunk);
    if (end === null || end.violation !== null)
      throw new Error(`${name}: the DATA reader did not end cleanly`);
    return end.body.length;
  };
  once();
  return {
    name,
    unit: 'MB/s',
    target: 500,
    octets: wire.length,
    ...scale(measure(once, wire.length), 1e-6),
  };
}

function dotStufferCase(name, size) {
  const body = messageBody(size);
  const chunks = [];
  for (let at = 0; at < body.length; at += CHUNK) chunks.push(body.subarray(at, at + CHUNK));
  const once = () => {
    const stuffer = new DotStuffer();
    let pieces = 0;
    for (const chunk of chunks) pieces += stuffer.push(chunk).length;
    return pieces + stuffer.end().length;
  };
  return {
    name,
    unit: 'MB/s',
    target: null,
    octets: body.length,
    ...scale(measure(once, body.length), 1e-6),
  };
}

const PARSE_CONTEXT = {
  extended: true,
  smtputf8: true,
  utf8Transaction: false,
  authOffered: false,
  limits: DEFAULT_LIMITS,
};

function parseCommandCase(name) {
  for (const line of COMMAND_MIX) {
    const result = parseCommand(line, PARSE_CONTEXT);
    if (!result.ok)
      throw new Error(`${name}: "${line}" was refused: ${JSON.stringify(result.reply)}`);
  }
  const once = () => {
    let ok = 0;
    for (const line of COMMAND_MIX) if (parseCommand(line, PARSE_CONTEXT).ok) ok++;
    return ok;
  };
  return { name, unit: 'commands/s', target: 1_000_000, ...measure(once, COMMAND_MIX.length) };
}

function lineAndParseCase(name) {
  const wire = Buffer.from(
    COMMAND_MIX.map((line) => `${line.toString('latin1')}\r\n`).join(''),
    'latin1',
  );
  const once = () => {
    const reader = new LineReader(DEFAULT_LIMITS.commandLine);
    reader.push(wire);
    let ok = 0;
    for (let event = reader.next(); event !== null; event = reader.next()) {
      if (event.kind === 'line' && parseCommand(event.line, PARSE_CONTEXT).ok) ok++;
    }
    return ok;
  };
  return { name, unit: 'commands/s', target: null, ...measure(once, COMMAND_MIX.length) };
}

function scale(figures, factor) {
  return {
    median: figures.median * factor,
    min: figures.min * factor,
    max: figures.max * factor,
    runs: figures.runs.map((rate) => rate * factor),
  };
}

/** The report as JSON: figures to 0.1, number arrays on one line (as Prettier has them). */
function toJson(report) {
  const round = (_key, value) =>
    typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 10) / 10 : value;
  const text = JSON.stringify(report, round, 2).replace(
    /\[\n\s+([-\d.,\s]+?)\n\s+\]/g,
    (_, numbers) => `[${numbers.split(/,\s*/).join(', ')}]`,
  );
  return `${text}\n`;
}

function format(value) {
  return value >= 100_000 ? Math.round(value).toLocaleString('en-US') : value.toFixed(0);
}

function printTable(machine, results) {
  console.log(`@petrel/smtp core benchmarks — ${machine.date}`);
  console.log(`node ${machine.node}, ${machine.cpu} (${machine.cores} cores), ${machine.pinned}`);
  console.log(
    `median of ${RUNS} runs of >= ${RUN_SECONDS} s; DATA fed in ${CHUNK / 1024} KiB chunks; MB = 10^6 octets\n`,
  );
  const rows = results.map((r) => [
    r.name,
    `${format(r.median)} ${r.unit}`,
    format(r.min),
    format(r.max),
    r.target === null ? '' : `${format(r.target)} ${r.median >= r.target ? 'ok' : 'BELOW'}`,
  ]);
  const header = ['benchmark', 'median', 'min', 'max', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

pinToOneCore();

const cpus = os.cpus();
const machine = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus[0]?.model.trim() ?? 'unknown',
  cores: cpus.length,
  pinned: pinning(),
  gcExposed: typeof globalThis.gc === 'function',
};

const results = [
  dataReaderCase('DataReader.push, 5 KB message', 5 * 1024),
  dataReaderCase('DataReader.push, 1 MB message', 1024 * 1024),
  dotStufferCase('DotStuffer.push, 1 MB message', 1024 * 1024),
  parseCommandCase('parseCommand, command mix'),
  lineAndParseCase('LineReader + parseCommand, command mix'),
];

printTable(machine, results);
mkdirSync(join(here, '..', 'results'), { recursive: true });
writeFileSync(join(here, '..', 'results', 'latest.json'), toJson({ ...machine, results }));
const below = results.filter((r) => r.target !== null && r.median < r.target);
if (below.length > 0) console.log(`\nbelow target: ${below.map((r) => r.name).join(', ')}`);
