// The watcher against real files: replaced by rename, swapped as a ConfigMap
// volume swaps its ..data link, broken and mended; and a real SIGHUP.
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import type { PetrelConfig } from './config-types.js';
import { ConfigWatcher, problemKey, type ConfigReload } from './config-watcher.js';
import { loadConfig } from './load-config.js';

interface Line {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

let dir: string | undefined;
const watchers: ConfigWatcher[] = [];

afterEach(async () => {
  for (const w of watchers.splice(0)) await w.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function replace(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

async function eventually<T>(check: () => T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`not within 5 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const BASE = `
ingress:
  trustedNetworks: [127.0.0.0/8]
  maxErrors: 20
routing:
  transports: { a.test: 'smtp:[127.0.0.1]:2626' }
`;

/** A watcher of `file` (written with `text` first) that records what it applies and logs. */
function watch(
  file: string,
  text: string,
  options: { signal?: NodeJS.Signals | null; refuse?: (next: PetrelConfig) => string[] } = {},
) {
  writeFileSync(file, text);
  const lines: Line[] = [];
  const applied: { next: PetrelConfig; reload: ConfigReload }[] = [];
  const log = (level: Line['level']) => (fields: object, message: string) =>
    void lines.push({ level, fields: fields as Record<string, unknown>, message });
  const watcher = new ConfigWatcher({
    file,
    env: {},
    signal: options.signal ?? null,
    pollIntervalMs: 50,
    debounceMs: 50,
    current: loadConfig({ env: {}, file }),
    reads: ['ingress', 'routing'],
    live: ['ingress.trustedNetworks', 'routing.transports'],
    apply(next, reload) {
      const problems = options.refuse?.(next) ?? [];
      if (problems.length > 0) throw new ConfigError(problems);
      applied.push({ next, reload });
    },
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
  });
  watchers.push(watcher);
  watcher.start();
  return { watcher, lines, applied };
}

describe('ConfigWatcher', () => {
  it('applies a file renamed over the old one: the live keys changed, in one call', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-watch-'));
    const file = join(dir, 'petrel.yaml');
    const w = watch(file, BASE);
    replace(file, BASE.replace('[127.0.0.0/8]', '[127.0.0.0/8, 10.0.0.0/8]'));
    await eventually(() => w.applied.length === 1, 'the new file applied');
    expect(w.applied[0]!.reload).toEqual({ trigger: 'file', changed: ['ingress.trustedNetworks'] });
    expect(w.applied[0]!.next.ingress.trustedNetworks).toEqual(['127.0.0.0/8', '10.0.0.0/8']);
    expect(w.watcher.current.ingress.trustedNetworks).toEqual(['127.0.0.0/8', '10.0.0.0/8']);
    expect(w.lines).toEqual([
      {
        level: 'info',
        fields: {
          event: 'config-reload',
          outcome: 'applied',
          trigger: 'file',
          file,
          applied: ['ingress.trustedNetworks'],
          restart: [],
        },
        message: 'configuration reloaded',
      },
    ]);

    // Written in place, twice in a row: one reload.
    writeFileSync(file, BASE.replace("'smtp:[127.0.0.1]:2626'", "'smtp:[127.0.0.2]:2626'"));
    writeFileSync(file, BASE.replace("'smtp:[127.0.0.1]:2626'", "'smtp:[127.0.0.3]:2626'"));
    await eventually(() => w.applied.length === 2, 'the file written in place applied');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(w.applied).toHaveLength(2);
    expect(w.applied[1]!.reload.changed).toEqual(['ingress.trustedNetworks', 'routing.transports']);
    expect(w.watcher.current.routing.transports['a.test']!.spec).toBe('smtp:[127.0.0.3]:2626');
  });

  it('refuses a bad file naming the key, keeps the configuration in force, and takes the mended file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-watch-'));
    const file = join(dir, 'petrel.yaml');
    const w = watch(file, BASE);
    replace(file, BASE.replace('[127.0.0.0/8]', '[not-a-cidr]'));
    const refused = await eventually(
      () => w.lines.find((l) => l.fields.outcome === 'refused'),
      'the refusal logged',
    );
    expect(refused.level).toBe('error');
    expect(refused.fields.key).toBe('ingress.trustedNetworks[0]');
    expect(refused.fields.problem).toMatch(/^ingress\.trustedNetworks\[0\]: expected a network/);
    expect(refused.message).toBe('configuration reload refused; the configuration in force stays');
    expect(w.applied).toEqual([]);
    expect(w.watcher.current.ingress.trustedNetworks).toEqual(['127.0.0.0/8']);
    // Once: the poll seeing the same write later says nothing more.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(w.lines.filter((l) => l.fields.outcome === 'refused')).toHaveLength(1);

    // The same broken file once more (touched): refused again; then mended: applied.
    replace(file, BASE.replace('[127.0.0.0/8]', '[not-a-cidr]'));
    await eventually(
      () => w.lines.filter((l) => l.fields.outcome === 'refused').length === 2,
      'the second refusal',
    );
    replace(file, BASE.replace('[127.0.0.0/8]', '[192.0.2.0/24]'));
    await eventually(() => w.applied.length === 1, 'the mended file applied');
    expect(w.watcher.current.ingress.trustedNetworks).toEqual(['192.0.2.0/24']);
  });

  it("refuses what the service cannot apply, naming the service's key, and keeps the old", async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-watch-'));
    const file = join(dir, 'petrel.yaml');
    const w = watch(file, BASE, {
      refuse: (next) =>
        next.ingress.trustedNetworks.includes('10.0.0.0/8')
          ? ['ingress.trustedNetworks: not today']
          : [],
    });
    replace(file, BASE.replace('[127.0.0.0/8]', '[10.0.0.0/8]'));
    const refused = await eventually(
      () => w.lines.find((l) => l.fields.outcome === 'refused'),
      'the refusal logged',
    );
    expect(refused.fields).toMatchObject({
      key: 'ingress.trustedNetworks',
      problem: 'ingress.trustedNetworks: not today',
    });
    expect(w.watcher.current.ingress.trustedNetworks).toEqual(['127.0.0.0/8']);
  });

  it('warns about each changed key that needs a restart and keeps its old value', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-watch-'));
    const file = join(dir, 'petrel.yaml');
    const w = watch(file, BASE);
    replace(
      file,
      BASE.replace('maxErrors: 20', 'maxErrors: 5\n  timeouts: { command: 6m }').replace(
        '[127.0.0.0/8]',
        '[10.0.0.0/8]',
      ),
    );
    await eventually(() => w.applied.length === 1, 'the live key applied');
    const warnings = w.lines.filter((l) => l.level === 'warn');
    expect(warnings.map((l) => l.fields.key)).toEqual([
      'ingress.maxErrors',
      'ingress.timeouts.command',
    ]);
    expect(warnings[0]!.fields.outcome).toBe('needs-restart');
    expect(warnings[0]!.message).toBe(
      'configuration reloaded: ingress.maxErrors changed, which needs a restart; its old value stays in force until then',
    );
    expect(w.applied[0]!.next.ingress.maxErrors).toBe(20);
    expect(w.watcher.current.ingress.maxErrors).toBe(20);
    expect(w.watcher.current.ingress.timeouts.commandMs).toBe(300_000);
    expect(w.watcher.current.ingress.trustedNetworks).toEqual(['10.0.0.0/8']);
  });

  it("applies nothing for a key it does not read (another service's)", async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-watch-'));
    const file = join(dir, 'petrel.yaml');
    const w = watch(file, BASE);
    replace(file, `${BASE}egress: { concurrency: 3 }\n`);
    const line = await eventually(
      () => w.lines.find((l) => l.fields.outcome === 'unchanged'),
      'the unchanged line',
    );
    expect(line.message).toBe('configuration file changed; nothing this service reads changed');
    expect(w.applied).toEqual([]);
  });

  it('follows a ConfigMap volume: the file is a link through ..data, swapped to a new folder', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-watch-k8s-'));
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'petrel.yaml'), BASE);
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'petrel.yaml'), join(dir, 'petrel.yaml'));
    // PETREL_CONFIG names the link, as a pod sees its ConfigMap.
    const file = join(dir, 'petrel.yaml');
    const lines: unknown[] = [];
    const applied: string[][] = [];
    const watcher = new ConfigWatcher({
      file,
      env: {},
      signal: null,
      pollIntervalMs: 50,
      debounceMs: 50,
      current: loadConfig({ env: {}, file }),
      reads: ['ingress'],
      live: ['ingress.trustedNetworks'],
      apply: (_next, reload) => void applied.push([...reload.changed]),
      logger: { info: () => undefined, warn: () => undefined, error: (f) => lines.push(f) },
    });
    watchers.push(watcher);
    watcher.start();
    for (const [version, network] of [
      ['..v2', '10.0.0.0/8'],
      ['..v3', '192.0.2.0/24'],
    ] as const) {
      mkdirSync(join(dir, version));
      writeFileSync(
        join(dir, version, 'petrel.yaml'),
        BASE.replace('[127.0.0.0/8]', `[${network}]`),
      );
      symlinkSync(version, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      await eventually(
        () => watcher.current.ingress.trustedNetworks[0] === network,
        `${version} in force`,
      );
    }
    expect(applied).toEqual([['ingress.trustedNetworks'], ['ingress.trustedNetworks']]);
    expect(lines).toEqual([]);
  });

  it('on SIGHUP calls apply even when the file is unchanged (the files it names are read again)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-watch-'));
    const file = join(dir, 'petrel.yaml');
    const w = watch(file, BASE, { signal: 'SIGHUP' });
    process.kill(process.pid, 'SIGHUP');
    await eventually(() => w.applied.length === 1, 'applied on SIGHUP');
    expect(w.applied[0]!.reload).toEqual({ trigger: 'signal', changed: [] });
    await w.watcher.stop();
    expect(process.listenerCount('SIGHUP')).toBe(0);
  });
});

describe('problemKey', () => {
  it('is the key a problem line names', () => {
    expect(problemKey('ingress.trustedNetworks[0]: expected a network, got "x"')).toBe(
      'ingress.trustedNetworks[0]',
    );
    expect(problemKey('metrics.port (from PETREL_METRICS__PORT): expected an integer')).toBe(
      'metrics.port',
    );
    expect(problemKey('routing.transports["a.test"]: expected a transport: smtp:host')).toBe(
      'routing.transports["a.test"]',
    );
    expect(problemKey('no key here')).toBeNull();
  });
});
