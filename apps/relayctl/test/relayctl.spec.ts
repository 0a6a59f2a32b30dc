// relayctl as an operator runs it (`node apps/relayctl/dist/main.js`), against
// the whole relay as processes (ingress, routing with the admin API, egress)
// on one real Redis, delivering to a fault-injecting sink: what each command
// prints, what its --json parses to, and the exit codes scripts rely on.
// `relayctl top` runs in a real terminal (tmux) while mail flows.
import { execFile, type ExecFileException } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type {
  Entry,
  Progress,
  ResolveResponse,
  ShowResponse,
  StatusResponse,
  SummaryResponse,
  TraceResponse,
} from '@petrel/proto';
import {
  REPOSITORY_ROOT,
  ensureServiceBuilt,
  eventually,
  freePort,
  killServices,
  spawnService,
  startRedis,
  startTestSink,
  uniquePrefix,
  type RedisHandle,
  type SinkFault,
  type TestSink,
} from '@petrel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pexecFile = promisify(execFile);
const RELAYCTL = join(REPOSITORY_ROOT, 'apps/relayctl/dist/main.js');

let redis: RedisHandle;
let sink: TestSink;
let smtpPort: number;
let adminPort: number;

/** Always: 'later*' and 'stuck*' recipients are refused with 451 at RCPT (deferred, retried every second). */
const LATER: SinkFault = {
  stage: 'rcpt',
  match: 'later',
  action: { reply: 451, text: '4.3.2 Not now' },
};
const STUCK: SinkFault = {
  stage: 'rcpt',
  match: 'stuck',
  action: { reply: 451, text: '4.3.2 Not now' },
};
/** 'once*': 451 4.7.1 to the first attempt, then accepted. */
const ONCE: SinkFault = {
  stage: 'rcpt',
  match: 'once',
  action: { reply: 451, text: '4.7.1 Greylisted, try again later' },
  times: 1,
};

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs relayctl against the relay's admin API (unless the arguments name another --server). */
async function relayctl(...args: string[]): Promise<Result> {
  return relayctlWith({}, ...args);
}

/** relayctl with these variables added to its environment. */
async function relayctlWith(extra: Record<string, string>, ...args: string[]): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...extra };
  // Node warns on stderr when both NO_COLOR and FORCE_COLOR (Nx's) are set.
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('PETREL_') && !['NODE_OPTIONS', 'NO_COLOR', 'FORCE_COLOR'].includes(k))
      env[k] ??= v;
  const server = args.includes('--server') ? [] : ['--server', `127.0.0.1:${adminPort}`];
  try {
    const { stdout, stderr } = await pexecFile(process.execPath, [RELAYCTL, ...server, ...args], {
      env,
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as ExecFileException & { stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function relayctlJson<T>(...args: string[]): Promise<T> {
  const result = await relayctl('--json', ...args);
  if (result.code !== 0)
    throw new Error(`relayctl ${args.join(' ')}: exit ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Sends one message with Python's smtplib; resolves with its queue id. */
async function send(
  from: string,
  to: readonly string[],
  subject = 'relayctl test',
): Promise<string> {
  const script = `
import json, re, smtplib, sys
s = smtplib.SMTP('127.0.0.1', ${smtpPort}, local_hostname='client.test', timeout=10)
s.ehlo()
s.mail(sys.argv[1])
for r in json.loads(sys.argv[2]):
    code, _ = s.rcpt(r)
    assert code == 250, code
code, reply = s.data(sys.argv[3].encode())
assert code == 250, reply
print(re.search(rb'queued as (\\S+)', reply).group(1).decode())
s.quit()
`;
  const message = `From: ${from}\r\nTo: ${to.join(', ')}\r\nSubject: ${subject}\r\n\r\nHello.\r\n`;
  const { stdout } = await pexecFile('python3', ['-c', script, from, JSON.stringify(to), message]);
  return stdout.trim();
}

/** The entries `list` gives for these arguments, once `check` accepts them. */
async function listUntil(args: string[], check: (entries: Entry[]) => boolean): Promise<Entry[]> {
  return eventually(async () => {
    const entries = await relayctlJson<Entry[]>('list', ...args);
    return check(entries) ? entries : undefined;
  }, 20_000);
}

beforeAll(async () => {
  for (const service of ['ingress', 'routing', 'egress']) await ensureServiceBuilt(service);
  await ensureServiceBuilt('relayctl');
  redis = await startRedis();
  sink = await startTestSink({ faults: [LATER, STUCK, ONCE] });
  const deadDns = await freePort(); // nothing answers: no query may leave the machine
  const to = `'smtp:[127.0.0.1]:${sink.port}'`;
  const prefix = uniquePrefix('relayctl');
  // A free port can be taken by another test's process before ours binds it
  // (the chaos cluster allocates dozens): then start again on new ports.
  for (let attempt = 1; ; attempt++) {
    smtpPort = await freePort();
    adminPort = await freePort();
    const env = {
      PETREL_REDIS__URL: redis.url,
      PETREL_REDIS__PREFIX: `'${prefix}'`,
      PETREL_REDIS__DURABILITY: 'none',
      PETREL_INGRESS__HOSTNAME: 'relay.petrel.test',
      PETREL_INGRESS__LISTENERS: `[{host: 127.0.0.1, port: ${smtpPort}}]`,
      PETREL_ROUTING__TRANSPORTS: `{a.test: ${to}, b.test: ${to}, c.test: ${to}, client.test: ${to}}`,
      PETREL_ROUTING__DNS: `{servers: ['127.0.0.1:${deadDns}'], timeout: 200ms}`,
      PETREL_ROUTING__GRPC__PORT: '0',
      PETREL_ADMIN__PORT: String(adminPort),
      PETREL_EGRESS__TLS: 'none',
      PETREL_EGRESS__RETRY__SCHEDULE: '[1s]',
      PETREL_METRICS__PORT: '0',
      PETREL_LOG__LEVEL: 'warn',
    };
    const services = ['routing', 'egress', 'ingress'].map((name) => spawnService(name, env));
    const inUse = () =>
      services.some((s) => s.child.exitCode !== null && /EADDRINUSE/.test(s.stderr()));
    try {
      await eventually(async () => {
        if (inUse()) return 'in use';
        for (const s of services) if (s.child.exitCode !== null) throw new Error(s.stderr());
        const probe = `import socket; socket.create_connection(('127.0.0.1', ${smtpPort}), 1).close()`;
        await pexecFile('python3', ['-c', probe]);
        const status = await relayctlJson<StatusResponse>('status');
        return status.services.length >= 3 ? 'up' : undefined;
      }, 30_000).then((state) => {
        if (state === 'in use') throw new Error('EADDRINUSE');
      });
      break;
    } catch (e) {
      killServices();
      if (attempt >= 3 || !/EADDRINUSE/.test(String(e))) throw e;
    }
  }
}, 300_000);

afterAll(async () => {
  killServices();
  await sink?.close();
  await redis?.stop();
});

describe('relayctl against the whole relay', () => {
  it('exits 2 on a usage error, 3 for an unknown message, 4 when the server cannot be reached', async () => {
    const help = await relayctl('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    expect((await relayctl('hold', '--help')).stdout).toMatch(/^Usage: relayctl hold /);
    expect((await relayctl('help', 'list')).stdout).toMatch(/^Usage: relayctl list /);

    const noSelector = await relayctl('hold');
    expect(noSelector.code).toBe(2);
    expect(noSelector.stderr).toContain('--all');
    expect((await relayctl('list', '--state', 'bogus')).code).toBe(2);
    expect((await relayctl('frobnicate')).code).toBe(2);
    expect((await relayctl('show')).code).toBe(2);

    const unknown = await relayctl('show', '01M84TT0D1PARSWGMTDQNZX6CZ');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/NOT_FOUND/);
    expect((await relayctl('trace', '01M84TT0D1PARSWGMTDQNZX6CZ')).code).toBe(3);

    const nobody = await freePort();
    const unreachable = await relayctl('status', '--server', `127.0.0.1:${nobody}`);
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toContain(`cannot reach the admin API at 127.0.0.1:${nobody}`);
  }, 60_000);

  it('traces a delivery deferred once, then delivered: every event with its time, service and reply', async () => {
    const id = await send('sender@client.test', ['once@a.test']);
    await eventually(
      async () => (sink.messages.some((m) => m.rcptTo.includes('once@a.test')) ? true : undefined),
      20_000,
    );
    const trace = await eventually(async () => {
      const t = await relayctlJson<TraceResponse>('trace', id);
      return t.events.some((e) => e.event === 'delivered') ? t : undefined;
    });
    const story = (names: readonly string[]) =>
      trace.events.filter((e) => names.includes(e.event)).map((e) => [e.event, e.service]);
    expect(story(['received', 'routed', 'attempt'])).toEqual([
      ['received', 'ingress'],
      ['routed', 'routing'],
      ['attempt', 'egress'],
      ['attempt', 'egress'],
    ]);
    expect(story(['deferred', 'delivered'])).toEqual([
      ['deferred', 'egress'],
      ['delivered', 'egress'],
    ]);

    const text = await relayctl('trace', id);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`message ${id}`);
    expect(lines[1]).toMatch(/^TIME\s+SERVICE\s+INSTANCE\s+EVENT\s+DETAILS$/);
    expect(lines).toHaveLength(2 + trace.events.length);
    const line = (event: string, n = 0) =>
      lines.filter((l) => new RegExp(`^\\S+Z\\s+\\S+\\s+\\S+\\s+${event}\\s`).test(l))[n] ?? '';
    expect(line('received')).toMatch(
      /^\S+Z\s+ingress\s+\S+\s+received\s+client=127\.0\.0\.1 helo=client\.test from=<sender@client\.test> to=once@a\.test size=\d+$/,
    );
    expect(line('routed')).toMatch(
      new RegExp(
        `^\\S+Z\\s+routing\\s+\\S+\\s+routed\\s+${id}\\.1 → 127\\.0\\.0\\.1:${sink.port} for once@a\\.test$`,
      ),
    );
    expect(line('attempt', 0)).toMatch(
      /\s+egress\s+\S+\s+attempt\s+\S+ attempt 1; once@a\.test deferred: 451 4\.7\.1 Greylisted, try again later \(.*\); next attempt \S+Z$/,
    );
    expect(line('deferred')).toMatch(
      /\s+egress\s+\S+\s+deferred\s+\S+\.1: once@a\.test; next attempt \S+Z$/,
    );
    expect(line('attempt', 1)).toMatch(
      /\s+egress\s+\S+\s+attempt\s+\S+ attempt 2; once@a\.test delivered: 250 /,
    );
    expect(line('delivered')).toMatch(/\s+egress\s+\S+\s+delivered\s+\S+\.1: once@a\.test$/);

    // Delivered: nothing left in the queue, but show still knows how it came.
    const show = await relayctl('show', id);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`message ${id}`);
    expect(show.stdout).toMatch(/from\s+client 127\.0\.0\.1, HELO client\.test, no TLS/);
    expect(show.stdout).toContain('No entry is left in the queue');
  }, 60_000);

  it('queue, list with selectors and show describe deferred mail', async () => {
    const first = await send('sender@client.test', ['later1@c.test', 'later2@c.test']);
    const second = await send('other@client.test', ['stuck1@b.test']);
    // Both deferred at least once (retried every second: "queued" or "active" for a moment).
    await listUntil(['--state', 'deferred,queued,active', '--reply', '451'], (entries) =>
      [first, second].every((id) => entries.some((e) => e.messageId === id && e.attempts > 0)),
    );

    const queue = await relayctl('queue');
    expect(queue.code).toBe(0);
    expect(queue.stdout).toMatch(/^STATE\s+ENTRIES\s+RECIPIENTS$/m);
    expect(queue.stdout).toMatch(
      /^DOMAIN\s+T\s+5\s+10\s+20\s+40\s+80\s+160\s+320\s+640\s+1280\s+1280\+\s+DEFERRED$/m,
    );
    expect(queue.stdout).toMatch(/^c\.test\s+1\s+1\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+2$/m);
    expect(queue.stdout).toMatch(/^b\.test\s+1\s+1\s/m);
    const summary = await relayctlJson<SummaryResponse>('queue');
    expect(summary.domains.map((d) => d.domain)).toEqual(
      expect.arrayContaining(['b.test', 'c.test']),
    );

    const byDomain = await listUntil(['--domain', 'c.test'], (e) => e.length > 0);
    expect(byDomain.map((e) => e.messageId)).toEqual([first]);
    const byRecipient = await relayctlJson<Entry[]>('list', '--to', 'stuck1@b.test');
    expect(byRecipient.map((e) => e.messageId)).toEqual([second]);
    const bySender = await relayctlJson<Entry[]>(
      'list',
      '--from',
      '@client.test',
      '--reply',
      '4.3.2',
    );
    expect(bySender.map((e) => e.messageId).sort()).toEqual([first, second].sort());
    const byText = await relayctlJson<Entry[]>('list', '--reply', 'not now', '--domain', 'b.test');
    expect(byText.map((e) => e.messageId)).toEqual([second]);
    const none = await relayctl('list', '--reply', '550');
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe('No entry matched.\n');
    expect(await relayctlJson<Entry[]>('list', '--state', 'held')).toEqual([]);

    const table = await relayctl('list', '--domain', 'c.test');
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(
      /^ID\s+STATE\s+AGE\s+FROM\s+TO\s+DOMAIN\s+ATTEMPTS\s+NEXT\s+LAST REPLY$/,
    );
    expect(row).toMatch(
      new RegExp(
        `^${first}\\.1\\s+\\w+\\s+\\d+s\\s+sender@client\\.test\\s+later1@c\\.test \\+1\\s+c\\.test\\s+\\d+\\s+.+\\s+451 4\\.3\\.2 Not now$`,
      ),
    );

    const show = await relayctl('show', first);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`entry ${first}.1`);
    expect(show.stdout).toMatch(/from\s+<sender@client\.test>/);
    expect(show.stdout).toMatch(new RegExp(`next hops\\s+127\\.0\\.0\\.1:${sink.port}`));
    expect(show.stdout).toMatch(/body\s+stored, needed by 1 entry/);
    expect(show.stdout).toMatch(
      /later1@c\.test\s+deferred\s+451 4\.3\.2 Not now \(.*127\.0\.0\.1.*\)/,
    );
    expect(show.stdout).toMatch(/later2@c\.test\s+deferred\s+451 4\.3\.2 Not now/);
    const shown = await relayctlJson<ShowResponse>('show', `${first}.1`);
    expect(shown.messageId).toBe(first);
    expect(shown.entries[0]!.recipients.map((r) => r.state)).toEqual(['deferred', 'deferred']);
  }, 60_000);

  it('hold keeps an entry from delivery (a dry run changes nothing); release delivers it', async () => {
    const [entry] = await listUntil(
      ['--domain', 'c.test', '--to', 'later1@c.test'],
      (e) => e.length === 1,
    );

    const dry = await relayctl('hold', '--to', 'later1@c.test', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      /^hold \(dry run\): 1 matched, [01] would hold, [01] unchanged, [01] skipped\n$/,
    );
    expect(await relayctlJson<Entry[]>('list', '--state', 'held')).toEqual([]);

    // An entry being attempted at that moment is skipped: ask again until it is held.
    await eventually(async () => {
      const hold = await relayctl('hold', '--to', 'later1@c.test', '--reason', 'relayctl test');
      if (hold.code !== 0) throw new Error(hold.stderr);
      const held = await relayctlJson<Entry[]>('list', '--state', 'held');
      return held.length === 1 ? hold : undefined;
    }, 20_000);
    const again = await relayctl('hold', entry!.id, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout) as Progress).toMatchObject({
      matched: 1,
      changed: 0,
      final: true,
    });

    // The next hop would take it now; held, it is not tried.
    sink.setFaults([STUCK]);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(sink.messages.some((m) => m.rcptTo.includes('later1@c.test'))).toBe(false);
    const trace = await relayctl('trace', entry!.messageId);
    expect(trace.stdout).toMatch(
      /\s+routing\s+\S+\s+held\s+entry=\S+ by="\S+@\S+ \(local\)" reason="relayctl test"/,
    );

    const release = await relayctl('release', '--state', 'held', '-v');
    expect(release.code).toBe(0);
    expect(release.stdout).toMatch(
      new RegExp(
        `^${entry!.id.replace('.', '\\.')}\\s+changed\\s+released to 127\\.0\\.0\\.1:${sink.port}$`,
        'm',
      ),
    );
    expect(release.stdout).toMatch(/^release: 1 matched, 1 released, 0 unchanged, 0 skipped$/m);
    const [delivered] = await eventually(async () => {
      const found = sink.messages.filter((m) => m.rcptTo.includes('later1@c.test'));
      return found.length > 0 ? found : undefined;
    }, 20_000);
    expect(delivered!.rcptTo).toEqual(['later1@c.test', 'later2@c.test']);
  }, 90_000);

  it('bounce sends the DSN to the original sender; delete removes without one', async () => {
    sink.setFaults([STUCK]);
    const bounced = await send('owner@client.test', ['stuck2@b.test'], 'to be bounced');
    const deleted = await send('owner@client.test', ['stuck3@b.test'], 'to be deleted');
    await listUntil(['--to', 'stuck2@b.test', '--reply', '451'], (e) => e.length === 1);
    await listUntil(['--to', 'stuck3@b.test', '--reply', '451'], (e) => e.length === 1);

    const before = sink.messages.length;
    await eventually(async () => {
      const bounce = await relayctl('bounce', bounced, '--reason', 'undeliverable');
      if (bounce.code !== 0) throw new Error(bounce.stderr);
      return /1 bounced/.test(bounce.stdout) ? true : undefined;
    }, 20_000);
    const dsn = await eventually(
      async () => sink.messages.slice(before).find((m) => m.mailFrom === ''),
      20_000,
    );
    expect(dsn.rcptTo).toEqual(['owner@client.test']);
    expect(dsn.body.toString('latin1')).toMatch(/multipart\/report/);
    expect(dsn.body.toString('latin1')).toContain('stuck2@b.test');
    expect(await relayctlJson<Entry[]>('list', bounced)).toEqual([]);

    await eventually(async () => {
      const del = await relayctl('delete', '--to', 'stuck3@b.test', '--json');
      if (del.code !== 0) throw new Error(del.stderr);
      return (JSON.parse(del.stdout) as Progress).changed === 1 ? true : undefined;
    }, 20_000);
    expect(await relayctlJson<Entry[]>('list', deleted)).toEqual([]);
    const trace = await relayctl('trace', deleted);
    expect(trace.stdout).toMatch(/\s+deleted\s+entry=/);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(sink.messages.slice(before).filter((m) => m.mailFrom === '')).toHaveLength(1);
    expect(sink.messages.some((m) => m.rcptTo.includes('stuck3@b.test'))).toBe(false);
  }, 90_000);

  it('resolve and status answer in words and in JSON', async () => {
    const resolve = await relayctl('resolve', 'someone@a.test');
    expect(resolve.code).toBe(0);
    expect(resolve.stdout).toMatch(/^decision\s+relay$/m);
    expect(resolve.stdout).toMatch(/^source\s+transport-map \(transport map key a\.test\)$/m);
    expect(resolve.stdout).toMatch(new RegExp(`^next hops\\s+127\\.0\\.0\\.1:${sink.port}$`, 'm'));
    const answer = await relayctlJson<ResolveResponse>('resolve', 'a.test');
    expect(answer).toMatchObject({ decision: 'RELAY', source: 'TRANSPORT_MAP', domain: 'a.test' });

    const status = await relayctl('status');
    expect(status.code).toBe(0);
    for (const service of ['ingress', 'routing', 'egress'])
      expect(status.stdout).toMatch(
        new RegExp(`^  ${service}\\s+\\S+\\s+\\S+\\s+up\\s+ready\\s`, 'm'),
      );
    expect(status.stdout).toMatch(/^ {2}deliveries\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+$/m);
    expect(status.stdout).toMatch(/^REDIS$/m);
    expect(status.stdout).toMatch(/^ {2}memory\s+\S+ \S+ used/m);
    expect(status.stdout).toMatch(/^COUNTERS/m);
    const parsed = await relayctlJson<StatusResponse>('status');
    expect(parsed.services.map((s) => s.service).sort()).toEqual(['egress', 'ingress', 'routing']);
    expect(parsed.counters.find((c) => c.name === 'accepted')!.value).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it('top draws the queue and the busiest destination in a terminal, and q quits with 0', async () => {
    sink.setFaults([STUCK]);
    await send('sender@client.test', ['stuck4@b.test']);
    await listUntil(['--to', 'stuck4@b.test', '--reply', '451'], (e) => e.length === 1);
    const dir = mkdtempSync(join(tmpdir(), 'relayctl-top-'));
    const socket = `relayctl-${randomBytes(4).toString('hex')}`;
    const tmux = (...args: string[]) => pexecFile('tmux', ['-L', socket, ...args]);
    const exitFile = join(dir, 'exit');
    const command =
      `'${process.execPath}' '${RELAYCTL}' top --server 127.0.0.1:${adminPort}; ` +
      `echo $? > '${exitFile}'; sleep 30`;
    try {
      await tmux('new-session', '-d', '-s', 'top', '-x', '120', '-y', '40', command);
      const screen = await eventually(async () => {
        const { stdout } = await tmux('capture-pane', '-p', '-t', 'top');
        return /RATES\/s/.test(stdout) && /^b\.test\s+\d+\s+\d+/m.test(stdout) ? stdout : undefined;
      }, 20_000);
      expect(screen).toMatch(
        /^petrel top {2}\d\d:\d\d:\d\dZ {3}services 3\/3 up \(egress 1, ingress 1, routing 1\)/m,
      );
      expect(screen).toMatch(
        /^QUEUE {4}queued \d+ {2}routing \d+ {2}deferred \d+ {2}active \d+ {2}held \d+ {2}failed \d+ {2}total \d+/m,
      );
      expect(screen).toMatch(/^DESTINATION\s+ENTRIES\s+DEFERRED\s+OLDEST$/m);
      // Refreshed: the clock moves.
      const clock = /\d\d:\d\d:\d\dZ/.exec(screen)![0];
      await eventually(async () => {
        const { stdout } = await tmux('capture-pane', '-p', '-t', 'top');
        return /\d\d:\d\d:\d\dZ/.exec(stdout)?.[0] !== clock ? true : undefined;
      }, 5000);
      await tmux('send-keys', '-t', 'top', 'q');
      const code = await eventually(async () => {
        const text = readFileSync(exitFile, 'utf8').trim();
        return text === '' ? undefined : text;
      }, 10_000);
      expect(code).toBe('0');
      // The alternate screen is left: the shell's screen is back, without the frame.
      const { stdout: after } = await tmux('capture-pane', '-p', '-t', 'top');
      expect(after).not.toMatch(/RATES\/s/);
    } finally {
      await tmux('kill-server').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('exits 5 when the server wants a token it was not given; --token-file and $PETREL_ADMIN_TOKEN_FILE give it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relayctl-token-'));
    try {
      const token = randomBytes(16).toString('hex');
      writeFileSync(join(dir, 'tokens'), `ops ${token}\n`);
      writeFileSync(join(dir, 'good'), `${token}\n`);
      writeFileSync(join(dir, 'bad'), `${'x'.repeat(32)}\n`);
      const port = await freePort();
      const routing = spawnService('routing', {
        PETREL_REDIS__URL: redis.url,
        PETREL_REDIS__PREFIX: `'${uniquePrefix('relayctl-token')}'`,
        PETREL_REDIS__DURABILITY: 'none',
        PETREL_ROUTING__GRPC__PORT: '0',
        PETREL_ADMIN__PORT: String(port),
        PETREL_ADMIN__TOKENS_FILE: join(dir, 'tokens'),
        PETREL_METRICS__PORT: '0',
        PETREL_LOG__LEVEL: 'warn',
      });
      const server = `127.0.0.1:${port}`;
      const none = await eventually(async () => {
        if (routing.child.exitCode !== null) throw new Error(routing.stderr());
        const result = await relayctl('--server', server, 'status');
        return result.code === 4 ? undefined : result;
      }, 20_000);
      expect(none.code).toBe(5);
      expect(none.stderr).toMatch(/refused the credentials \(UNAUTHENTICATED/);
      expect(
        (await relayctl('--server', server, '--token-file', join(dir, 'bad'), 'queue')).code,
      ).toBe(5);
      expect(
        (await relayctl('--server', server, '--token-file', join(dir, 'good'), 'queue')).code,
      ).toBe(0);
      const fromEnv = await relayctlWith(
        { PETREL_ADMIN_TOKEN_FILE: join(dir, 'good') },
        '--server',
        server,
        'status',
        '--json',
      );
      expect(fromEnv.code).toBe(0);
      expect((JSON.parse(fromEnv.stdout) as StatusResponse).queues.length).toBeGreaterThan(0);
      const missing = await relayctl(
        '--server',
        server,
        '--token-file',
        join(dir, 'missing'),
        'status',
      );
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('cannot read --token-file');
      routing.child.kill('SIGTERM');
      await routing.exited;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('top --once prints one frame without the alternate screen', async () => {
    const once = await relayctl('top', '--once');
    expect(once.code).toBe(0);
    expect(once.stdout).not.toContain('\x1b[');
    expect(once.stdout).toMatch(/^RATES\/s {2}in: accepted [\d.]+ {3}out: delivered [\d.]+/m);
    expect((await relayctl('top', '--json')).code).toBe(2);
  }, 30_000);
});
