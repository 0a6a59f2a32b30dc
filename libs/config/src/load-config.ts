// Loads the configuration every service starts from: the YAML file named by
// PETREL_CONFIG (or options.file), then the PETREL_* environment overrides,
// then defaults, validated as a whole. Any problem stops the start: a
// ConfigError lists every problem found, each naming its key.
//
// Does not: watch the file, read the files it names (TLS keys, AUTH users),
// or log; the caller prints the error and exits.

import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from './config-error.js';
import type { PetrelConfig } from './config-types.js';
import { crossCheck } from './cross-checks.js';
import { applyOverrides, readEnvOverrides } from './env-overrides.js';
import { fileSchema } from './file-schema.js';
import { describeIssues, fallbackMessage } from './issues.js';
import { keyTree } from './key-tree.js';

export interface LoadConfigOptions {
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** The YAML file; default env.PETREL_CONFIG; null: none (defaults and environment only). */
  file?: string | null;
  /** The YAML text itself, instead of reading `file` (which then only names it in messages). */
  text?: string;
}

const TREE = keyTree(fileSchema);

export function loadConfig(options: LoadConfigOptions = {}): PetrelConfig {
  const env = options.env ?? process.env;
  const file = options.file === undefined ? env.PETREL_CONFIG || null : options.file;
  const named =
    file === null
      ? 'the configuration'
      : options.file === undefined
        ? `PETREL_CONFIG=${file}`
        : file;

  const problems: string[] = [];
  let raw: unknown = {};
  const text = options.text ?? (file === null ? null : readText(file, named, problems));
  if (text !== null) raw = parseYaml(text, named, problems);
  const environment = readEnvOverrides(env, TREE);
  if (problems.length > 0) throw new ConfigError([...problems, ...environment.problems]);

  const result = fileSchema.safeParse(applyOverrides(raw, environment.overrides), {
    error: fallbackMessage,
  });
  if (!result.success) {
    const issues = describeIssues(result.error.issues, TREE, environment.overrides);
    throw new ConfigError([...environment.problems, ...issues]);
  }
  problems.push(...environment.problems, ...crossCheck(result.data));
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data;
}

/** Every default: no file, no environment (ingress.hostname is this machine's name). */
export function defaultConfig(): PetrelConfig {
  return loadConfig({ env: {}, file: null });
}

function readText(file: string, named: string, problems: string[]): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    problems.push(`${named}: cannot read the configuration file (${code})`);
    return null;
  }
}

function parseYaml(text: string, named: string, problems: string[]): unknown {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    for (const error of document.errors) {
      problems.push(`${named}: ${error.message.split('\n')[0]?.replace(/:$/, '')}`);
    }
    return {};
  }
  try {
    // An empty file is no setting at all.
    return document.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    problems.push(`${named}: ${(error as Error).message}`);
    return {};
  }
}
