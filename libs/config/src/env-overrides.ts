// Environment overrides: PETREL_<PATH>=<value>, where PATH is the key path with
// each key in UPPER_SNAKE and keys joined by "__" (PETREL_REDIS__URL,
// PETREL_INGRESS__MAX_MESSAGE_SIZE, PETREL_INGRESS__TIMEOUTS__COMMAND).
//
// - A value is YAML: 1000 is a number, true a boolean, [10.0.0.0/8] a list,
//   {command: 1m} a mapping, and an empty value is null. Text that is not YAML
//   at all (say "*.example") is taken as the string it is, unless it starts
//   like a flow collection ("[" or "{"): then the YAML error is reported.
// - Sections can be set whole or key by key; lists, maps of operator-chosen
//   names (routing.transports, ingress.expn.lists) and values only whole.
//   An override replaces what the file says at its path; a deeper one is
//   applied after a shallower one.
// - A variable starting PETREL_ that names no key is an error (with the
//   nearest name), except RESERVED_VARIABLES and Kubernetes service links.
//
// Does not: validate values (the schema does, naming the variable).

import { parseDocument } from 'yaml';
import { closest } from './closest.js';
import { envVariable, formatKeyPath, keyPaths, type KeyNode } from './key-tree.js';
import { isServiceLink } from './service-links.js';

export interface EnvOverride {
  readonly variable: string;
  readonly path: readonly string[];
  readonly value: unknown;
}

/**
 * PETREL_ variables that are not keys, and what reads them. Tools that spawn
 * services pass their environment on, so their own variables must not stop
 * a service; each one is listed here and in docs/configuration.md.
 */
export const RESERVED_VARIABLES: ReadonlyMap<string, string> = new Map([
  ['PETREL_CONFIG', 'the configuration file'],
  ['PETREL_LOCAL_REDIS_PORT', '`npm start`: the port of the Redis it runs when redis.url is null'],
  ['PETREL_BENCH_PINNED', 'the benchmarks: set when they have pinned themselves to one CPU'],
  ['PETREL_ADMIN_ADDRESS', 'relayctl: the admin API to call (host:port)'],
  ['PETREL_ADMIN_TOKEN_FILE', 'relayctl: the file holding its bearer token'],
]);

/** Variables an earlier Petrel read, and what replaced them. */
const RETIRED: ReadonlyMap<string, string> = new Map([
  ['PETREL_LISTEN', "use PETREL_INGRESS__LISTENERS='[{host: 127.0.0.1, port: 2525}]'"],
]);

const KIND_NAMES = { list: 'a list', map: 'a mapping of names', value: 'a single value' };

export function readEnvOverrides(
  env: NodeJS.ProcessEnv,
  tree: KeyNode,
): { overrides: EnvOverride[]; problems: string[] } {
  const known = new Map<string, { path: readonly string[]; node: KeyNode }>();
  for (const entry of keyPaths(tree)) known.set(envVariable(entry.path), entry);

  const overrides: EnvOverride[] = [];
  const problems: string[] = [];
  for (const variable of Object.keys(env).sort()) {
    const text = env[variable];
    if (!variable.startsWith('PETREL_') || text === undefined) continue;
    if (RESERVED_VARIABLES.has(variable) || isServiceLink(variable, text)) continue;
    const key = known.get(variable);
    if (key === undefined) {
      problems.push(unknownVariable(variable, known));
      continue;
    }
    const value = parseEnvValue(text);
    if (value.ok) overrides.push({ variable, path: key.path, value: value.value });
    else problems.push(`${variable}: not a YAML value (${value.message})`);
  }
  overrides.sort((a, b) => a.path.length - b.path.length);
  return { overrides, problems };
}

/** `raw` with each override set at its path; `raw` itself is not changed. */
export function applyOverrides(raw: unknown, overrides: readonly EnvOverride[]): unknown {
  let root = raw;
  for (const { path, value } of overrides) root = setAt(root, path, value);
  return root;
}

function setAt(target: unknown, path: readonly string[], value: unknown): unknown {
  const [key, ...rest] = path;
  if (key === undefined) return value;
  // Where the file has no mapping (absent, null, or a wrong type), the
  // override starts one: `ingress.tls: null` plus PETREL_INGRESS__TLS__CERT.
  const base = isMapping(target) ? target : {};
  return { ...base, [key]: setAt(base[key], rest, value) };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseEnvValue(
  text: string,
): { ok: true; value: unknown } | { ok: false; message: string } {
  let message: string;
  try {
    const document = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
    const error = document.errors[0];
    if (error === undefined) return { ok: true, value: document.toJS({ maxAliasCount: 0 }) };
    message = error.message;
  } catch (error) {
    // An alias ("*relay") names no anchor: resolving it throws.
    message = (error as Error).message;
  }
  if (/^\s*[[{]/.test(text)) return { ok: false, message: message.split('\n')[0] ?? '' };
  return { ok: true, value: text };
}

function unknownVariable(
  variable: string,
  known: ReadonlyMap<string, { path: readonly string[]; node: KeyNode }>,
): string {
  const retired = RETIRED.get(variable);
  if (retired !== undefined) return `${variable}: no longer read; ${retired}`;
  // PETREL_INGRESS__LISTENERS__0__PORT: a key that is set whole, reached into.
  const segments = variable.split('__');
  for (let length = segments.length - 1; length > 0; length -= 1) {
    const whole = segments.slice(0, length).join('__');
    const key = known.get(whole);
    if (key !== undefined && key.node.kind !== 'section') {
      return (
        `${variable}: names no configuration key; ${formatKeyPath(key.path)} is ` +
        `${KIND_NAMES[key.node.kind]}, set whole with ${whole}`
      );
    }
  }
  const meant = closest(variable, [...known.keys()]);
  return `${variable}: names no configuration key${meant === null ? '' : ` (did you mean ${meant}?)`}`;
}
