// The command line → what to do: the connection, the output mode and one
// command with its request, or help, or the version. Pure: the environment
// and the actor come in as arguments; files are read by cli.ts.
//
// Global options go before or after the command. Usage errors throw
// UsageError (exit 2), naming the command whose help to read.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  ENTRY_STATES,
  emptySelector,
  type ListRequest,
  type MutateRequest,
  type Mutation,
  type ResolveRequest,
  type Selector,
} from '@petrel/proto';
import {
  GLOBAL_OPTIONS,
  allOptions,
  commandSpec,
  isMutation,
  type CommandName,
  type MutationVerb,
  type OptionSpec,
} from './commands.js';
import { DurationError, parseDuration } from './duration.js';

export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose --help to point at; null: relayctl --help. */
    readonly command: string | null = null,
  ) {
    super(message);
  }
}

export const DEFAULT_SERVER = '127.0.0.1:50052';
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_DOMAIN_ROWS = 20;

export interface ConnectionOptions {
  /** host:port */
  readonly address: string;
  /** Paths, read by cli.ts; null: not given. */
  readonly tokenFile: string | null;
  readonly ca: string | null;
  readonly cert: string | null;
  readonly key: string | null;
  readonly timeoutMs: number;
}

export type Command =
  | { readonly name: 'queue'; readonly limit: number }
  | { readonly name: 'list'; readonly request: ListRequest }
  | { readonly name: 'show' | 'trace'; readonly id: string }
  | {
      readonly name: 'mutate';
      readonly verb: MutationVerb;
      readonly mutation: Mutation;
      readonly request: MutateRequest;
      readonly verbose: boolean;
    }
  | { readonly name: 'resolve'; readonly request: ResolveRequest }
  | { readonly name: 'status' }
  | { readonly name: 'top'; readonly intervalMs: number; readonly once: boolean };

export type Invocation =
  /** Print help (to stdout) and exit 0: for relayctl, or for one command. */
  | { readonly kind: 'help'; readonly command: CommandName | null }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'run';
      readonly connection: ConnectionOptions;
      readonly json: boolean;
      readonly command: Command;
    };

export interface ParseContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** user@host, sent with mutations. */
  readonly actor: string;
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function argsConfig(options: readonly OptionSpec[]): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    options.map((o) => [
      o.name,
      {
        type: o.type,
        ...(o.short === undefined ? {} : { short: o.short }),
        ...(o.multiple ? { multiple: true } : {}),
      },
    ]),
  );
}

/** The command's name: the first positional once every known option's value is set aside. */
function findCommand(argv: readonly string[]): string | null {
  const { positionals } = parseArgs({
    args: [...argv],
    options: argsConfig(allOptions()),
    strict: false,
    allowPositionals: true,
  });
  return positionals[0] ?? null;
}

function parseError(err: unknown, command: string | null): UsageError {
  const message = err instanceof Error ? err.message : String(err);
  // Node's messages go on about '--' and positionals: the first sentence says it.
  const first = /^(.*?\.)(\s|$)/.exec(message)?.[1] ?? message;
  return new UsageError(first.replace(/\.$/, ''), command);
}

function text(values: Values, name: string): string | null {
  const value = values[name];
  return typeof value === 'string' ? value : null;
}

function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

function duration(value: string, option: string, command: string | null): number {
  try {
    return parseDuration(value);
  } catch (err) {
    if (err instanceof DurationError) throw new UsageError(`--${option}: ${err.message}`, command);
    throw err;
  }
}

function count(value: string | null, option: string, command: string, fallback: number): number {
  if (value === null) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) > 0xffffffff)
    throw new UsageError(`--${option}: expected a whole number, got "${value}"`, command);
  return Number(value);
}

function address(value: string, source: string): string {
  if (!/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(value))
    throw new UsageError(`${source}: expected HOST:PORT, got "${value}"`);
  return value;
}

/** The selector the options and ids describe; `isEmpty` when nothing at all was given. */
export function selectorOf(
  values: Values,
  ids: readonly string[],
  command: string,
): { selector: Selector; given: boolean } {
  const states = ((values['state'] as string[] | undefined) ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  for (const state of states)
    if (!(ENTRY_STATES as readonly string[]).includes(state))
      throw new UsageError(
        `--state: unknown state "${state}" (one of ${ENTRY_STATES.join(', ')})`,
        command,
      );
  const strip = (value: string | null) =>
    value === null ? '' : value === '<>' ? '<>' : value.trim().replace(/^<(.+)>$/, '$1');
  const olderThan = text(values, 'older-than');
  const youngerThan = text(values, 'younger-than');
  const selector: Selector = {
    ...emptySelector(),
    ids: [...new Set(ids.map((id) => id.trim()).filter((id) => id !== ''))],
    sender: strip(text(values, 'from')),
    recipient: strip(text(values, 'to')),
    domain: (text(values, 'domain') ?? '').trim().toLowerCase().replace(/\.$/, ''),
    nextHop: (text(values, 'next-hop') ?? '').trim().toLowerCase(),
    states: [...new Set(states)],
    olderThanSeconds: olderThan === null ? 0 : duration(olderThan, 'older-than', command),
    youngerThanSeconds: youngerThan === null ? 0 : duration(youngerThan, 'younger-than', command),
    lastReply: (text(values, 'reply') ?? '').trim(),
    all: flag(values, 'all'),
  };
  for (const [option, value] of [
    ['from', text(values, 'from')],
    ['to', text(values, 'to')],
    ['domain', text(values, 'domain')],
    ['next-hop', text(values, 'next-hop')],
    ['reply', text(values, 'reply')],
  ] as const)
    if (value !== null && value.trim() === '')
      throw new UsageError(`--${option}: empty (leave it out to match any)`, command);
  if (
    selector.olderThanSeconds > 0 &&
    selector.youngerThanSeconds > 0 &&
    selector.youngerThanSeconds < selector.olderThanSeconds
  )
    throw new UsageError('--younger-than is shorter than --older-than: nothing can match', command);
  const given =
    selector.all ||
    selector.ids.length > 0 ||
    selector.sender !== '' ||
    selector.recipient !== '' ||
    selector.domain !== '' ||
    selector.nextHop !== '' ||
    selector.states.length > 0 ||
    olderThan !== null ||
    youngerThan !== null ||
    selector.lastReply !== '';
  return { selector, given };
}

const MUTATION_NAMES: Record<MutationVerb, Mutation> = {
  retry: 'Retry',
  hold: 'Hold',
  release: 'Release',
  delete: 'Delete',
  bounce: 'Bounce',
};

export function parseCommandLine(argv: readonly string[], context: ParseContext): Invocation {
  let name: string | null;
  try {
    name = findCommand(argv);
  } catch (err) {
    throw parseError(err, null);
  }
  if (name === null) {
    const { values } = parseGlobal(argv);
    if (values['version'] === true) return { kind: 'version' };
    if (values['help'] === true) return { kind: 'help', command: null };
    throw new UsageError('a command is needed');
  }
  const spec = commandSpec(name);
  if (spec === undefined) throw new UsageError(`unknown command "${name}"`);

  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: argsConfig([...GLOBAL_OPTIONS, ...spec.options]),
      strict: true,
      allowPositionals: true,
    }) as { values: Values; positionals: string[] });
  } catch (err) {
    throw parseError(err, spec.name);
  }
  const args = positionals.slice(1);
  if (spec.name === 'help') {
    const about = args[0];
    if (about === undefined) return { kind: 'help', command: null };
    const target = commandSpec(about);
    if (target === undefined) throw new UsageError(`unknown command "${about}"`);
    return { kind: 'help', command: target.name };
  }
  if (flag(values, 'help')) return { kind: 'help', command: spec.name };
  if (flag(values, 'version')) return { kind: 'version' };

  const [least, most] = spec.positionals;
  if (args.length < least)
    throw new UsageError(`${spec.name}: missing ${spec.usage.split(' ')[1]}`, spec.name);
  if (args.length > most)
    throw new UsageError(
      `${spec.name}: unexpected argument "${args[most]}"${most === 0 ? '' : ` (${spec.name} takes ${most})`}`,
      spec.name,
    );

  const connection = connectionOf(values, context);
  const json = flag(values, 'json');
  const run = (command: Command): Invocation => ({ kind: 'run', connection, json, command });

  switch (spec.name) {
    case 'queue':
      return run({
        name: 'queue',
        limit: count(text(values, 'limit'), 'limit', spec.name, DEFAULT_DOMAIN_ROWS),
      });
    case 'list': {
      const { selector, given } = selectorOf(values, args, spec.name);
      return run({
        name: 'list',
        request: {
          selector: given ? selector : { ...selector, all: true },
          limit: count(text(values, 'limit'), 'limit', spec.name, 0),
        },
      });
    }
    case 'show':
    case 'trace': {
      const id = args[0]!.trim();
      if (id === '') throw new UsageError(`${spec.name}: the id is empty`, spec.name);
      return run({ name: spec.name, id });
    }
    case 'resolve': {
      const query = args[0]!.trim();
      if (query === '') throw new UsageError('resolve: the domain or address is empty', spec.name);
      return run({ name: 'resolve', request: { query, trusted: flag(values, 'trusted') } });
    }
    case 'status':
      return run({ name: 'status' });
    case 'top': {
      const interval = text(values, 'interval');
      const seconds = interval === null ? 1 : duration(interval, 'interval', spec.name);
      if (seconds < 1) throw new UsageError('--interval: at least 1s', spec.name);
      return run({ name: 'top', intervalMs: seconds * 1000, once: flag(values, 'once') });
    }
    default: {
      if (!isMutation(spec.name)) throw new UsageError(`unknown command "${spec.name}"`);
      const verb = spec.name;
      const { selector, given } = selectorOf(values, args, verb);
      if (!given)
        throw new UsageError(
          `${verb}: no selector: name entries (ids, --state, --domain...) or say --all for every entry`,
          verb,
        );
      return run({
        name: 'mutate',
        verb,
        mutation: MUTATION_NAMES[verb],
        request: {
          selector,
          dryRun: flag(values, 'dry-run'),
          actor: context.actor,
          reason: text(values, 'reason') ?? '',
        },
        verbose: flag(values, 'verbose'),
      });
    }
  }
}

function parseGlobal(argv: readonly string[]): { values: Values } {
  try {
    return parseArgs({
      args: [...argv],
      options: argsConfig(GLOBAL_OPTIONS),
      strict: true,
      allowPositionals: true,
    }) as { values: Values };
  } catch (err) {
    throw parseError(err, null);
  }
}

function connectionOf(values: Values, context: ParseContext): ConnectionOptions {
  const env = (name: string) => {
    const value = context.env[name];
    return value === undefined || value === '' ? null : value;
  };
  const ca = text(values, 'ca');
  const cert = text(values, 'cert');
  const key = text(values, 'key');
  if ((cert === null) !== (key === null))
    throw new UsageError('--cert and --key go together (a client certificate and its key)');
  if (cert !== null && ca === null)
    throw new UsageError('--cert needs --ca (the CA of the server’s certificate: TLS)');
  const server = text(values, 'server');
  const timeout = text(values, 'timeout');
  const timeoutSeconds = timeout === null ? null : duration(timeout, 'timeout', null);
  if (timeoutSeconds === 0) throw new UsageError('--timeout: at least 1s');
  return {
    address:
      server !== null
        ? address(server, '--server')
        : address(env('PETREL_ADMIN_ADDRESS') ?? DEFAULT_SERVER, 'PETREL_ADMIN_ADDRESS'),
    tokenFile: text(values, 'token-file') ?? env('PETREL_ADMIN_TOKEN_FILE'),
    ca,
    cert,
    key,
    timeoutMs: timeoutSeconds === null ? DEFAULT_TIMEOUT_MS : timeoutSeconds * 1000,
  };
}
