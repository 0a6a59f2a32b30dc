// Reloads the configuration while a service runs: on SIGHUP, and when the file
// named by PETREL_CONFIG changes (written in place, renamed over, or swapped by
// a Kubernetes ConfigMap volume's ..data link). The file is loaded and
// validated whole, as at start (loadConfig), environment overrides included.
//
//   refused   the file does not load, or the service cannot apply it (a
//             certificate that does not load, say): one error line per problem,
//             naming its key; the configuration in force stays, all of it.
//   applied   the keys the service applies live are handed to it (`apply`), in
//             one call; each other key it reads that changed gets a warning line
//             ("needs a restart") and keeps its old value until the restart;
//             one info line lists the keys applied.
//   unchanged nothing the service reads changed (another service's key, a
//             comment): one info line; nothing is applied.
//
// A signal always calls `apply`, even when the file is unchanged: services re-
// read the files the configuration names (TLS certificate, users file), which
// operators replace in place. Reloads run one at a time, in order.
//
// Does not: read the files the configuration names, or decide which keys a
// service can apply live (its `reads` and `live` lists say so).

import { readFileSync, statSync, unwatchFile, watch, watchFile, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { configChanges, keyWithin, withChanges } from './config-changes.js';
import { ConfigError } from './config-error.js';
import type { PetrelConfig } from './config-types.js';
import { loadConfig } from './load-config.js';

export type ReloadTrigger = 'signal' | 'file' | 'manual';

export interface ConfigReload {
  readonly trigger: ReloadTrigger;
  /** The keys (as the file names them) whose new values `apply` must put in force. */
  readonly changed: readonly string[];
}

/** What the watcher logs through: pino's Logger is one. */
export interface ReloadLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Where the configuration is reloaded from, and when (a service's dependencies carry it). */
export interface ConfigReloadOptions {
  /** The YAML file; default env.PETREL_CONFIG; null: none (a signal still reloads). */
  readonly file?: string | null;
  /** Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Default SIGHUP; null: no signal (tests call reload()). */
  readonly signal?: NodeJS.Signals | null;
  /** How often the file's status is polled, besides the change notifications; default 1 s. */
  readonly pollIntervalMs?: number;
  /** Changes closer together than this make one reload; default 200 ms. */
  readonly debounceMs?: number;
}

export interface ConfigWatcherOptions extends ConfigReloadOptions {
  /** The configuration the service started with. */
  readonly current: PetrelConfig;
  /** Keys the service reads ("ingress", "routing.lists"): a change elsewhere is not its business. */
  readonly reads: readonly string[];
  /** Keys it applies without a restart ("ingress.trustedNetworks", "ingress.auth.usersFile"). */
  readonly live: readonly string[];
  /**
   * Puts `next` in force: all of it or, by throwing (a ConfigError naming each
   * key), none of it. `next` is the configuration in force with reload.changed's
   * keys taken from the file; every other key keeps the value in force.
   */
  apply(next: PetrelConfig, reload: ConfigReload): Promise<void> | void;
  readonly logger: ReloadLogger;
}

export type ReloadOutcome =
  | {
      readonly outcome: 'applied';
      readonly applied: readonly string[];
      /** Changed keys that take effect at the next restart. */
      readonly restart: readonly string[];
    }
  | { readonly outcome: 'refused'; readonly problems: readonly string[] }
  | { readonly outcome: 'unchanged' };

const EVENT = 'config-reload';

export class ConfigWatcher {
  readonly #options: ConfigWatcherOptions;
  readonly #file: string | null;
  readonly #env: NodeJS.ProcessEnv;
  #current: PetrelConfig;
  /** The file as last reloaded: its text, and its status (mtime, inode) then. */
  #last: { text: string | null; stamp: string; refused: boolean } | null = null;
  #chain: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #directory: FSWatcher | null = null;
  #started = false;

  readonly #onSignal = (): void => void this.reload('signal');
  // Any change of the file's status; the text decides whether anything changed.
  readonly #onStat = (): void => this.#schedule();

  constructor(options: ConfigWatcherOptions) {
    this.#options = options;
    this.#env = options.env ?? process.env;
    this.#file = options.file === undefined ? this.#env.PETREL_CONFIG || null : options.file;
    this.#current = options.current;
  }

  /** The configuration in force. */
  get current(): PetrelConfig {
    return this.#current;
  }

  get file(): string | null {
    return this.#file;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    const signal = this.#options.signal === undefined ? 'SIGHUP' : this.#options.signal;
    if (signal !== null) process.on(signal, this.#onSignal);
    const file = this.#file;
    if (file === null) return;
    this.#last = { ...read(file), refused: false };
    // The directory, not the file: a file renamed over the old one (editors, the
    // ..data link of a ConfigMap volume) is a new inode a watch on the old never sees.
    const name = basename(file);
    try {
      this.#directory = watch(dirname(file), (_event, changed) => {
        if (changed === null || changed === name || changed.startsWith('..')) this.#schedule();
      });
      this.#directory.on('error', () => undefined);
      this.#directory.unref();
    } catch {
      // No change notifications here (the directory is gone, or the platform has none): polling remains.
    }
    // Polling too, for file systems that send no notifications (NFS, some overlays).
    watchFile(
      file,
      { interval: this.#options.pollIntervalMs ?? 1000, persistent: false },
      this.#onStat,
    );
  }

  /** Stops watching; waits for a reload in progress. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    const signal = this.#options.signal === undefined ? 'SIGHUP' : this.#options.signal;
    if (signal !== null) process.off(signal, this.#onSignal);
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#directory?.close();
    this.#directory = null;
    if (this.#file !== null) unwatchFile(this.#file, this.#onStat);
    await this.#chain;
  }

  /** Loads the file and applies it now (after any reload in progress). Never rejects. */
  reload(trigger: ReloadTrigger = 'manual'): Promise<ReloadOutcome> {
    const run = this.#chain
      .then(() => this.#reload(trigger))
      .catch((err: unknown) => this.#refused(trigger, err));
    this.#chain = run;
    return run;
  }

  #schedule(): void {
    if (!this.#started) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.reload('file');
    }, this.#options.debounceMs ?? 200);
    this.#timer.unref();
  }

  async #reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const { logger, reads, live } = this.#options;
    const file = this.#file;
    const { text, stamp } = file === null ? { text: null, stamp: '' } : read(file);
    // Notifications come for the directory's other files, twice for one write
    // (the watch and the poll), and for writes that change nothing: the same
    // text stays quiet. A refused file is tried again when it is written again
    // (touched), as the files it names may have been mended meanwhile.
    const last = this.#last;
    if (
      trigger === 'file' &&
      last !== null &&
      text === last.text &&
      (!last.refused || stamp === last.stamp)
    )
      return { outcome: 'unchanged' };
    this.#last = { text, stamp, refused: false };

    let loaded: PetrelConfig;
    try {
      loaded = loadConfig({ env: this.#env, file, ...(text === null ? {} : { text }) });
    } catch (err) {
      return this.#refused(trigger, err);
    }
    const changes = configChanges(this.#current, loaded).filter((c) =>
      reads.some((r) => keyWithin(c.key, r)),
    );
    const applied = changes.filter((c) => live.some((l) => keyWithin(c.key, l)));
    const restart = changes.filter((c) => !applied.includes(c)).map((c) => c.key);
    if (trigger === 'file' && changes.length === 0) {
      logger.info(
        { event: EVENT, outcome: 'unchanged', trigger, file },
        'configuration file changed; nothing this service reads changed',
      );
      return { outcome: 'unchanged' };
    }

    const next = withChanges(this.#current, loaded, applied);
    const keys = applied.map((c) => c.key);
    if (applied.length > 0 || trigger !== 'file') {
      try {
        await this.#options.apply(next, { trigger, changed: keys });
      } catch (err) {
        return this.#refused(trigger, err);
      }
    }
    this.#current = next;
    for (const key of restart) {
      logger.warn(
        { event: EVENT, outcome: 'needs-restart', trigger, file, key },
        `configuration reloaded: ${key} changed, which needs a restart; its old value stays in force until then`,
      );
    }
    logger.info(
      { event: EVENT, outcome: 'applied', trigger, file, applied: keys, restart },
      'configuration reloaded',
    );
    return { outcome: 'applied', applied: keys, restart };
  }

  #refused(trigger: ReloadTrigger, err: unknown): ReloadOutcome {
    const problems =
      err instanceof ConfigError
        ? err.problems
        : [err instanceof Error ? err.message : String(err)];
    if (this.#last !== null) this.#last = { ...this.#last, refused: true };
    for (const problem of problems) {
      this.#options.logger.error(
        {
          event: EVENT,
          outcome: 'refused',
          trigger,
          file: this.#file,
          key: problemKey(problem),
          problem,
        },
        'configuration reload refused; the configuration in force stays',
      );
    }
    return { outcome: 'refused', problems };
  }
}

/** The key a problem line names: "ingress.trustedNetworks[0]: expected …" → "ingress.trustedNetworks[0]". */
export function problemKey(problem: string): string | null {
  const match = /^(.+?)(?: \(from [A-Z0-9_]+\))?: /.exec(problem);
  return match === null ? null : match[1]!;
}

/** The file's text (null when it cannot be read) and its status, stat before read. */
function read(file: string): { text: string | null; stamp: string } {
  let stamp = '';
  try {
    const status = statSync(file);
    stamp = `${status.mtimeMs}:${status.ino}:${status.size}`;
  } catch {
    // Unreadable: the text says so.
  }
  try {
    return { text: readFileSync(file, 'utf8'), stamp };
  } catch {
    return { text: null, stamp };
  }
}
