// relayctl's I/O: reads the command line (args.ts), the credentials' files,
// calls the admin API (@petrel/proto's client), prints what the format
// modules make of the answer, and returns the exit code (exit-codes.ts).
// `top` draws its frames (top.ts) on the alternate screen and reads its keys.
//
// Does not: format anything itself, or retry a call (scripts decide).

import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { createAdminClient, type AdminClient, type Progress } from '@petrel/proto';
import { UsageError, parseCommandLine, type Command, type Invocation } from './args.js';
import { EXIT, describeError, exitCodeFor } from './exit-codes.js';
import { formatList, formatShow, formatTrace } from './format-message.js';
import { progressBar, progressLine, summaryLine } from './format-mutation.js';
import { formatQueue } from './format-queue.js';
import { formatResolve, formatStatus } from './format-status.js';
import { commandHelp, globalHelp } from './help.js';
import { renderTopFrame, type TopSample } from './top.js';

const out = (text: string) => void process.stdout.write(text);
const err = (text: string) => void process.stderr.write(text);
const json = (value: unknown) => out(`${JSON.stringify(value, null, 2)}\n`);

function version(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'),
    ) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function actor(): string {
  let user = process.env['USER'] ?? process.env['LOGNAME'] ?? '';
  if (user === '') {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `${user}@${hostname()}`;
}

function readOption(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`cannot read ${option} ${path}: ${code}`);
  }
}

function usage(error: UsageError): number {
  const help = error.command === null ? 'relayctl --help' : `relayctl ${error.command} --help`;
  err(`relayctl: ${error.message}\nTry '${help}'.\n`);
  return EXIT.USAGE;
}

export async function run(argv: readonly string[]): Promise<number> {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    // `relayctl list | head`: the reader is gone, and so is the point of going on.
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  let invocation: Invocation;
  let client: AdminClient;
  try {
    invocation = parseCommandLine(argv, { env: process.env, actor: actor() });
    if (invocation.kind === 'help') {
      out(invocation.command === null ? globalHelp() : commandHelp(invocation.command));
      return EXIT.OK;
    }
    if (invocation.kind === 'version') {
      out(`relayctl ${version()}\n`);
      return EXIT.OK;
    }
    if (invocation.command.name === 'top' && invocation.json)
      throw new UsageError('top has no --json: use status --json and queue --json', 'top');
    const c = invocation.connection;
    const token =
      c.tokenFile === null ? null : readOption(c.tokenFile, '--token-file').toString('utf8').trim();
    if (token === '') throw new UsageError(`--token-file ${c.tokenFile} is empty`);
    client = createAdminClient({
      address: c.address,
      ca: c.ca === null ? null : readOption(c.ca, '--ca'),
      cert: c.cert === null ? null : readOption(c.cert, '--cert'),
      key: c.key === null ? null : readOption(c.key, '--key'),
      token,
      deadlineMs: c.timeoutMs,
    });
  } catch (error) {
    if (error instanceof UsageError) return usage(error);
    throw error;
  }
  try {
    return await execute(client, invocation.command, {
      asJson: invocation.json,
      address: invocation.connection.address,
    });
  } catch (error) {
    if (error instanceof UsageError) return usage(error);
    err(`relayctl: ${describeError(error, invocation.connection.address)}\n`);
    return exitCodeFor(error);
  } finally {
    client.close();
  }
}

async function execute(
  client: AdminClient,
  command: Command,
  { asJson, address }: { asJson: boolean; address: string },
): Promise<number> {
  const width = process.stdout.isTTY ? process.stdout.columns : undefined;
  switch (command.name) {
    case 'queue': {
      const summary = await client.summary();
      if (asJson) json(summary);
      else out(formatQueue(summary, { limit: command.limit, nowMs: Date.now() }));
      return EXIT.OK;
    }
    case 'list': {
      const entries = await client.list(command.request);
      if (asJson) json(entries);
      else if (entries.length === 0) err('No entry matched.\n');
      else
        out(formatList(entries, { nowMs: Date.now(), ...(width === undefined ? {} : { width }) }));
      return EXIT.OK;
    }
    case 'show': {
      const show = await client.show({ id: command.id });
      if (asJson) json(show);
      else out(formatShow(show, { nowMs: Date.now() }));
      return EXIT.OK;
    }
    case 'trace': {
      const trace = await client.trace({ id: command.id });
      if (asJson) json(trace);
      else out(formatTrace(trace));
      return EXIT.OK;
    }
    case 'resolve': {
      const answer = await client.resolve(command.request);
      if (asJson) json(answer);
      else out(formatResolve(answer));
      return EXIT.OK;
    }
    case 'status': {
      const status = await client.status();
      if (asJson) json(status);
      else out(formatStatus(status, Date.now()));
      return EXIT.OK;
    }
    case 'mutate':
      return mutate(client, command, asJson);
    case 'top':
      return command.once
        ? topOnce(client, command.intervalMs)
        : topLive(client, command.intervalMs, address);
  }
}

async function mutate(
  client: AdminClient,
  command: Extract<Command, { name: 'mutate' }>,
  asJson: boolean,
): Promise<number> {
  const bar = !asJson && process.stderr.isTTY === true;
  let drawnAt = 0;
  let last: Progress | null = null;
  const clearBar = () => {
    if (bar && drawnAt > 0) err('\r\x1b[K');
  };
  const onProgress = (progress: Progress) => {
    last = progress;
    if (command.verbose && !progress.final) {
      if (bar) clearBar();
      out(asJson ? `${JSON.stringify(progress)}\n` : `${progressLine(progress)}\n`);
      if (bar) drawnAt = 0;
    }
    if (
      bar &&
      !progress.final &&
      (Date.now() - drawnAt > 50 || progress.done === progress.matched)
    ) {
      err(`\r${progressBar(command.verb, progress, process.stderr.columns || 80)}\x1b[K`);
      drawnAt = Date.now();
    }
  };
  let final: Progress;
  try {
    final = await client.mutate(command.mutation, command.request, onProgress);
  } catch (error) {
    clearBar();
    const seen = last as Progress | null;
    if (seen !== null)
      err(
        `relayctl: ${command.verb} stopped part way: ${seen.done} of ${seen.matched} entries handled ` +
          `(${seen.changed} changed); running it again finishes the rest\n`,
      );
    throw error;
  }
  clearBar();
  if (asJson) out(`${JSON.stringify(final)}\n`);
  else out(`${summaryLine(command.verb, final, command.request.dryRun)}\n`);
  return EXIT.OK;
}

async function sample(client: AdminClient): Promise<TopSample> {
  const [status, summary] = await Promise.all([client.status(), client.summary()]);
  return { status, summary, atMs: Date.now() };
}

async function topOnce(client: AdminClient, intervalMs: number): Promise<number> {
  const first = await sample(client);
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
  const second = await sample(client);
  const lines = renderTopFrame(second, first, {
    width: process.stdout.columns || 100,
    height: process.stdout.rows || 50,
    intervalMs,
    nowMs: Date.now(),
  });
  out(`${lines.join('\n')}\n`);
  return EXIT.OK;
}

const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

async function topLive(client: AdminClient, intervalMs: number, address: string): Promise<number> {
  const stdout = process.stdout;
  const stdin = process.stdin;
  let previous: TopSample | null = null;
  let current: TopSample | null = null;
  let error: string | null = null;
  let exitCode: number | null = null;
  let wake: () => void = () => undefined;
  let quit: () => void = () => undefined;
  const quitting = new Promise<null>((resolve) => (quit = () => resolve(null)));

  const draw = () => {
    const lines = renderTopFrame(current, previous, {
      width: stdout.columns || 80,
      height: stdout.rows || 24,
      intervalMs,
      nowMs: Date.now(),
      error,
      live: true,
    });
    stdout.write(`\x1b[H${lines.map((line) => `${line}\x1b[K`).join('\r\n')}\x1b[J`);
  };
  const stop = (code: number) => {
    exitCode ??= code;
    wake();
    quit();
  };
  const onKey = (data: Buffer) => {
    const key = data.toString('utf8');
    if (key === 'q' || key === 'Q' || key === '\x03') stop(EXIT.OK);
  };
  const onInt = () => stop(130);
  const onTerm = () => stop(143);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    stdout.write(LEAVE);
  };

  stdout.write(ENTER);
  process.once('exit', restore);
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  stdout.on('resize', draw);
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onKey);
  stdin.resume();
  try {
    draw();
    while (exitCode === null) {
      const started = Date.now();
      try {
        const next = await Promise.race([sample(client), quitting]);
        if (next === null) break;
        previous = current;
        current = next;
        error = null;
      } catch (failure) {
        error = describeError(failure, address);
      }
      if (exitCode !== null) break;
      draw();
      const wait = Math.max(0, intervalMs - (Date.now() - started));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    stdin.off('data', onKey);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    stdout.off('resize', draw);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    restore();
    process.off('exit', restore);
  }
  return exitCode ?? EXIT.OK;
}
