import { emptySelector } from '@petrel/proto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVER, UsageError, parseCommandLine, type Invocation } from './args.js';
import { COMMAND_NAMES } from './commands.js';

const context = { env: {}, actor: 'alice@ops1' };
const parse = (line: string, env: Record<string, string> = {}): Invocation =>
  parseCommandLine(line === '' ? [] : line.split(' '), { ...context, env });
const command = (line: string) => {
  const invocation = parse(line);
  if (invocation.kind !== 'run') throw new Error(`not a run: ${invocation.kind}`);
  return invocation.command;
};
const usage = (line: string, env: Record<string, string> = {}) => {
  try {
    parse(line, env);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`no usage error for "${line}"`);
};

describe('parseCommandLine: help and version', () => {
  it('gives help for relayctl and for every command, three ways', () => {
    expect(parse('--help')).toEqual({ kind: 'help', command: null });
    expect(parse('-h')).toEqual({ kind: 'help', command: null });
    expect(parse('help')).toEqual({ kind: 'help', command: null });
    for (const name of COMMAND_NAMES.filter((n) => n !== 'help')) {
      expect(parse(`${name} --help`)).toEqual({ kind: 'help', command: name });
      expect(parse(`help ${name}`)).toEqual({ kind: 'help', command: name });
    }
    expect(parse('hold -h')).toEqual({ kind: 'help', command: 'hold' });
    expect(parse('--json hold --help')).toEqual({ kind: 'help', command: 'hold' });
  });

  it('gives the version', () => {
    expect(parse('--version')).toEqual({ kind: 'version' });
  });

  it('refuses no command, an unknown command and unknown help', () => {
    expect(usage('').message).toBe('a command is needed');
    expect(usage('frobnicate').message).toBe('unknown command "frobnicate"');
    expect(usage('help frobnicate').message).toBe('unknown command "frobnicate"');
  });
});

describe('parseCommandLine: connection', () => {
  it('defaults to loopback, then $PETREL_ADMIN_ADDRESS and $PETREL_ADMIN_TOKEN_FILE', () => {
    const a = parse('status');
    expect(a.kind === 'run' && a.connection).toEqual({
      address: DEFAULT_SERVER,
      tokenFile: null,
      ca: null,
      cert: null,
      key: null,
      timeoutMs: 30_000,
    });
    const b = parse('status', {
      PETREL_ADMIN_ADDRESS: 'admin.petrel.svc:50052',
      PETREL_ADMIN_TOKEN_FILE: '/run/token',
    });
    expect(b.kind === 'run' && b.connection).toMatchObject({
      address: 'admin.petrel.svc:50052',
      tokenFile: '/run/token',
    });
  });

  it('takes global options before or after the command, over the environment', () => {
    const line =
      '--server 10.0.0.1:7000 status --token-file t --ca ca.pem --cert c.pem --key k.pem --timeout 5s --json';
    const a = parse(line, { PETREL_ADMIN_ADDRESS: 'x:1' });
    expect(a).toMatchObject({
      kind: 'run',
      json: true,
      command: { name: 'status' },
      connection: {
        address: '10.0.0.1:7000',
        tokenFile: 't',
        ca: 'ca.pem',
        cert: 'c.pem',
        key: 'k.pem',
        timeoutMs: 5000,
      },
    });
    expect(parse('--server [::1]:50052 queue')).toMatchObject({
      connection: { address: '[::1]:50052' },
    });
  });

  it('refuses a server without a port, a certificate without its key or CA', () => {
    expect(usage('status --server localhost').message).toBe(
      '--server: expected HOST:PORT, got "localhost"',
    );
    expect(usage('status --cert c.pem').message).toMatch(/--cert and --key go together/);
    expect(usage('status --cert c.pem --key k.pem').message).toMatch(/--cert needs --ca/);
    expect(usage('status', { PETREL_ADMIN_ADDRESS: 'nope' }).message).toMatch(
      /^PETREL_ADMIN_ADDRESS: expected HOST:PORT/,
    );
  });
});

describe('parseCommandLine: selectors', () => {
  it('lists everything when no selector is given', () => {
    expect(command('list')).toEqual({
      name: 'list',
      request: { selector: { ...emptySelector(), all: true }, limit: 0 },
    });
  });

  it('turns every selector option into the Selector', () => {
    const line =
      'list 01M.1 01M.2 01M.1 --from <bob@x.test> --to X@A.test --domain A.Test. --next-hop MX1.a.test ' +
      '--state deferred,held --state failed --older-than 5m --younger-than 1d --reply 4.7 --limit 50';
    expect(command(line)).toEqual({
      name: 'list',
      request: {
        selector: {
          ids: ['01M.1', '01M.2'],
          sender: 'bob@x.test',
          recipient: 'X@A.test',
          domain: 'a.test',
          nextHop: 'mx1.a.test',
          states: ['deferred', 'held', 'failed'],
          olderThanSeconds: 300,
          youngerThanSeconds: 86_400,
          lastReply: '4.7',
          all: false,
        },
        limit: 50,
      },
    });
  });

  it('passes the null sender and @domain as they are', () => {
    expect(command('list --from <>')).toMatchObject({ request: { selector: { sender: '<>' } } });
    expect(command('list --from @x.test')).toMatchObject({
      request: { selector: { sender: '@x.test' } },
    });
  });

  it('refuses an unknown state, a bad duration, a bad limit, an empty value, an impossible age', () => {
    expect(usage('list --state bogus').message).toBe(
      '--state: unknown state "bogus" (one of queued, routing, deferred, active, held, failed)',
    );
    expect(usage('list --older-than 5').message).toMatch(/^--older-than: "5" has no unit/);
    expect(usage('list --limit ten').message).toBe('--limit: expected a whole number, got "ten"');
    expect(usage('list --limit -1').command).toBe('list');
    expect(usage('list --domain=').message).toMatch(/^--domain: empty/);
    expect(usage('list --older-than 1h --younger-than 5m').message).toMatch(/nothing can match/);
    expect(usage('list --bogus').message).toBe("Unknown option '--bogus'");
    expect(usage('list --bogus').command).toBe('list');
  });
});

describe('parseCommandLine: mutations', () => {
  it('refuses a mutation with no selector at all, naming --all', () => {
    for (const verb of ['retry', 'hold', 'release', 'delete', 'bounce']) {
      const error = usage(`${verb} --dry-run --reason x`);
      expect(error.message).toMatch(/--all/);
      expect(error.command).toBe(verb);
    }
  });

  it('builds the MutateRequest with the actor, the dry run and the reason', () => {
    expect(command('hold --domain a.test --dry-run --reason maintenance -v')).toEqual({
      name: 'mutate',
      verb: 'hold',
      mutation: 'Hold',
      verbose: true,
      request: {
        selector: { ...emptySelector(), domain: 'a.test' },
        dryRun: true,
        actor: 'alice@ops1',
        reason: 'maintenance',
      },
    });
    expect(command('bounce --all')).toMatchObject({
      mutation: 'Bounce',
      request: { selector: { ...emptySelector(), all: true }, dryRun: false, reason: '' },
      verbose: false,
    });
    expect(command('retry 01M84TT0D1PARSWGMTDQNZX6CZ')).toMatchObject({
      mutation: 'Retry',
      request: { selector: { ids: ['01M84TT0D1PARSWGMTDQNZX6CZ'] } },
    });
    expect(command('delete --older-than 5d')).toMatchObject({
      request: { selector: { olderThanSeconds: 432_000 } },
    });
  });

  it('knows which options belong to which command', () => {
    expect(usage('list --dry-run').message).toBe("Unknown option '--dry-run'");
    expect(usage('queue --state held').message).toBe("Unknown option '--state'");
  });
});

describe('parseCommandLine: the other commands', () => {
  it('show and trace take exactly one id', () => {
    expect(command('show 01M.1')).toEqual({ name: 'show', id: '01M.1' });
    expect(command('trace 01M')).toEqual({ name: 'trace', id: '01M' });
    expect(usage('show').message).toBe('show: missing ID');
    expect(usage('trace a b').message).toBe('trace: unexpected argument "b" (trace takes 1)');
  });

  it('queue takes a number of domain rows; status nothing', () => {
    expect(command('queue')).toEqual({ name: 'queue', limit: 20 });
    expect(command('queue --limit 0')).toEqual({ name: 'queue', limit: 0 });
    expect(command('status')).toEqual({ name: 'status' });
    expect(usage('status now').message).toBe('status: unexpected argument "now"');
  });

  it('resolve takes a domain or address', () => {
    expect(command('resolve example.com')).toEqual({
      name: 'resolve',
      request: { query: 'example.com', trusted: false },
    });
    expect(command('resolve <@a,@b:u@c> --trusted')).toMatchObject({
      request: { trusted: true },
    });
    expect(usage('resolve').message).toBe('resolve: missing DOMAIN|ADDRESS');
  });

  it('top refreshes every second unless told, and once', () => {
    expect(command('top')).toEqual({ name: 'top', intervalMs: 1000, once: false });
    expect(command('top --interval 5s --once')).toEqual({
      name: 'top',
      intervalMs: 5000,
      once: true,
    });
    expect(usage('top --interval 0s').message).toBe('--interval: at least 1s');
  });
});
