// relayctl's commands and options, as data: what the parser accepts
// (args.ts) and what --help says (help.ts) come from here. Pure.

export type OptionType = 'string' | 'boolean';

export interface OptionSpec {
  readonly name: string;
  readonly type: OptionType;
  readonly short?: string;
  readonly multiple?: boolean;
  /** Shown after the name in help: "--limit N". */
  readonly value?: string;
  readonly help: string;
}

export const MUTATION_VERBS = ['retry', 'hold', 'release', 'delete', 'bounce'] as const;
export type MutationVerb = (typeof MUTATION_VERBS)[number];

export const COMMAND_NAMES = [
  'queue',
  'list',
  'show',
  'trace',
  ...MUTATION_VERBS,
  'resolve',
  'status',
  'top',
  'help',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'server',
    type: 'string',
    value: 'HOST:PORT',
    help: 'the admin API (default $PETREL_ADMIN_ADDRESS, else 127.0.0.1:50052)',
  },
  {
    name: 'token-file',
    type: 'string',
    value: 'PATH',
    help: 'a file holding the bearer token (default $PETREL_ADMIN_TOKEN_FILE)',
  },
  {
    name: 'ca',
    type: 'string',
    value: 'PATH',
    help: "TLS: the CA of the server's certificate (PEM)",
  },
  {
    name: 'cert',
    type: 'string',
    value: 'PATH',
    help: 'mutual TLS: this client’s certificate (PEM; needs --ca)',
  },
  { name: 'key', type: 'string', value: 'PATH', help: 'mutual TLS: this client’s key (PEM)' },
  { name: 'timeout', type: 'string', value: 'DUR', help: 'per call (default 30s; streams: none)' },
  { name: 'json', type: 'boolean', help: 'machine-readable output (JSON) instead of tables' },
  { name: 'help', type: 'boolean', short: 'h', help: 'this help (also: relayctl help <command>)' },
  { name: 'version', type: 'boolean', help: "relayctl's version" },
];

export const SELECTOR_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'from',
    type: 'string',
    value: 'ADDR',
    help: 'the sender: an address, @domain for any sender of it, or <> for the null sender',
  },
  { name: 'to', type: 'string', value: 'ADDR', help: 'an open recipient of the entry' },
  { name: 'domain', type: 'string', value: 'DOMAIN', help: 'a destination domain' },
  {
    name: 'next-hop',
    type: 'string',
    value: 'HOST',
    help: 'a next hop host as routed (host or host:port)',
  },
  {
    name: 'state',
    type: 'string',
    multiple: true,
    value: 'STATE',
    help: 'queued, routing, deferred, active, held, failed (repeat or comma-separate: any of them)',
  },
  {
    name: 'older-than',
    type: 'string',
    value: 'DUR',
    help: 'received at least this long ago (30s, 5m, 2h, 1d)',
  },
  { name: 'younger-than', type: 'string', value: 'DUR', help: 'received at most this long ago' },
  {
    name: 'reply',
    type: 'string',
    value: 'REPLY',
    help: 'the last reply of an open recipient: a code or its prefix (451, 4), an enhanced code (4.7.1), or text',
  },
  { name: 'all', type: 'boolean', help: 'every entry (a mutation needs a selector or --all)' },
];

const LIMIT: OptionSpec = {
  name: 'limit',
  type: 'string',
  value: 'N',
  help: 'at most N entries (default: no limit)',
};

const MUTATION_OPTIONS: readonly OptionSpec[] = [
  ...SELECTOR_OPTIONS,
  { name: 'dry-run', type: 'boolean', help: 'say what would be done, change nothing' },
  {
    name: 'reason',
    type: 'string',
    value: 'TEXT',
    help: 'why, for the audit line and the message’s events',
  },
  { name: 'verbose', type: 'boolean', short: 'v', help: 'one line per entry' },
];

export interface CommandSpec {
  readonly name: CommandName;
  /** After "relayctl <name>". */
  readonly usage: string;
  /** One line, for the command list. */
  readonly summary: string;
  /** Paragraphs for the command's own help. */
  readonly description: string;
  readonly options: readonly OptionSpec[];
  /** Positional arguments: how many at least and at most (Infinity: any). */
  readonly positionals: readonly [number, number];
}

const MUTATION_HELP: Record<MutationVerb, string> = {
  retry: 'attempt deferred, delayed-routing and failed entries now',
  hold: 'move queued, deferred and failed deliveries to the held queue (never delivered or expired until released)',
  release:
    'route held entries again (DNS, ignoring a transport map hold) and queue them; their lifetime starts again',
  delete: 'remove entries without a DSN (the body goes with its last entry)',
  bounce: 'remove entries with a DSN to the sender for their open recipients',
};

function mutation(verb: MutationVerb): CommandSpec {
  return {
    name: verb,
    usage: `${verb} [ID...] [SELECTOR...] [--dry-run] [--reason TEXT] [-v]`,
    summary: MUTATION_HELP[verb],
    description:
      `${MUTATION_HELP[verb][0]!.toUpperCase()}${MUTATION_HELP[verb].slice(1)}.\n\n` +
      'IDs are message ids (every entry of the message) or entry ids (<message>.<n>); the ' +
      'selector options narrow them down (every option given must match). With no ID and no ' +
      `option at all, ${verb} refuses: name entries, or say --all. Safe to run again: an entry ` +
      'already in the wanted state is "unchanged", one gone meanwhile "skipped".\n\n' +
      'Prints a summary line (and with -v one line per entry); a progress bar on stderr when ' +
      'it is a terminal. With --json: the final progress as JSON (with -v every progress, one ' +
      'JSON object a line).',
    options: MUTATION_OPTIONS,
    positionals: [0, Infinity],
  };
}

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'queue',
    usage: 'queue [--limit N]',
    summary: 'entries by state, and by destination domain and age (the qshape view)',
    description:
      'The queue at a glance: entries and recipients by state, then the destination domains ' +
      'with the most entries, each with its entries by age (minutes since the message arrived, ' +
      'as Postfix’s qshape: each column counts the entries younger than its bound and older ' +
      'than the previous one) and its recipients deferred at least once.',
    options: [{ ...LIMIT, help: 'domain rows shown (default 20; 0: all)' }],
    positionals: [0, 0],
  },
  {
    name: 'list',
    usage: 'list [ID...] [SELECTOR...] [--limit N]',
    summary: 'the entries a selector matches, oldest first',
    description:
      'The entries a selector matches, oldest first; with no selector, every entry. IDs are ' +
      'message ids or entry ids; every option given must match. The last reply is cut to the ' +
      'terminal’s width (never with --json or when the output is not a terminal).',
    options: [...SELECTOR_OPTIONS, LIMIT],
    positionals: [0, Infinity],
  },
  {
    name: 'show',
    usage: 'show ID',
    summary: 'one message: envelope, each recipient’s state and last reply, attempts',
    description:
      'One message (a message id, or an entry id: its message): how it was received, whether its ' +
      'body is still stored, and each of its entries with its state, route, attempts, next ' +
      'attempt, and each recipient’s state and last reply. Exit 3 when nothing of it is left.',
    options: [],
    positionals: [1, 1],
  },
  {
    name: 'trace',
    usage: 'trace ID',
    summary: 'every recorded event of a message across ingress, routing and egress',
    description:
      'Every recorded event of one message, oldest first: when, which service and process, and ' +
      'what happened (received, routed, each attempt with each recipient’s reply, and what ' +
      'operators did). Events are kept 30 days after the last. Exit 3 when none is recorded.',
    options: [],
    positionals: [1, 1],
  },
  ...MUTATION_VERBS.map(mutation),
  {
    name: 'resolve',
    usage: 'resolve DOMAIN|ADDRESS [--trusted]',
    summary: 'where mail for a domain or an address goes next',
    description:
      'Asks routing where mail for a domain (example.com), an address literal ([192.0.2.1]) or ' +
      'an address goes next: the decision, where it came from (transport map, MX...), the next ' +
      'hops in order, the reply for a rejection, and whether DNS answered from the cache.',
    options: [
      { name: 'trusted', type: 'boolean', help: 'as for a trusted client: honour a source route' },
    ],
    positionals: [1, 1],
  },
  {
    name: 'status',
    usage: 'status',
    summary: 'services seen, queue depths, Redis memory and persistence, counters',
    description:
      'The services seen (each process, its version, whether it reported itself in the last ' +
      '30 s, ready or draining), the BullMQ queues’ depths and workers, Redis (version, role, ' +
      'memory, eviction policy, AOF and RDB) and the cluster-wide counters.',
    options: [],
    positionals: [0, 0],
  },
  {
    name: 'top',
    usage: 'top [--interval DUR] [--once]',
    summary: 'a live view: rates in and out, queue depth, the busiest destinations',
    description:
      'A live full-screen view, refreshed every second: the services up, messages accepted and ' +
      'recipients delivered, deferred and bounced per second, the queue by state, and the ' +
      'destinations with the most entries with their deferrals. q or Ctrl-C quits. --once ' +
      'prints one frame (rates measured over one interval) and exits.',
    options: [
      { name: 'interval', type: 'string', value: 'DUR', help: 'refresh period (default 1s)' },
      { name: 'once', type: 'boolean', help: 'print one frame, without the full-screen mode' },
    ],
    positionals: [0, 0],
  },
  {
    name: 'help',
    usage: 'help [COMMAND]',
    summary: 'this help, or a command’s',
    description: 'relayctl’s help, or one command’s (as relayctl COMMAND --help).',
    options: [],
    positionals: [0, 1],
  },
];

export function commandSpec(name: string): CommandSpec | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** Every option of every command, for finding the command among the arguments. */
export function allOptions(): OptionSpec[] {
  const byName = new Map<string, OptionSpec>();
  for (const option of [...GLOBAL_OPTIONS, ...COMMANDS.flatMap((c) => c.options)])
    byName.set(option.name, option);
  return [...byName.values()];
}

export function isMutation(name: string): name is MutationVerb {
  return (MUTATION_VERBS as readonly string[]).includes(name);
}
