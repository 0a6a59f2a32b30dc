// Which keys differ between two configurations, named as the file names them,
// and a configuration with some of one's keys carried into the other: what a
// reload (config-watcher.ts) applies, warns about, and keeps in force.
//
// A key is compared down to its leaves, except lists (compared whole) and the
// mappings of names (routing.transports, routing.lists, egress.credentials:
// compared whole, reported by their own key). A duration arrives in the
// services as `<key>Ms`; the change is named `<key>`, as the file writes it.
//
// Does not: read files, validate, or know which service reads what.

import { isDeepStrictEqual } from 'node:util';
import type { PetrelConfig } from './config-types.js';

/** Mappings keyed by names the operator chooses: compared and reported whole. */
const MAPPINGS = new Set(['routing.transports', 'routing.lists', 'egress.credentials']);

export interface ConfigChange {
  /** As the file names it: "ingress.trustedNetworks", "ingress.timeouts.command". */
  readonly key: string;
  /** The path in PetrelConfig: ["ingress", "timeouts", "commandMs"]. */
  readonly path: readonly string[];
}

/** The keys whose values differ, in the order of `previous`'s keys (then new ones). */
export function configChanges(previous: PetrelConfig, next: PetrelConfig): ConfigChange[] {
  const out: ConfigChange[] = [];
  walk(previous, next, [], out);
  return out;
}

/**
 * `base` with the values of `changes` taken from `from`; neither is modified.
 * The configuration in force after a reload that applies only some keys.
 */
export function withChanges(
  base: PetrelConfig,
  from: PetrelConfig,
  changes: readonly ConfigChange[],
): PetrelConfig {
  const result = structuredClone(base);
  for (const { path } of changes) {
    let target = result as unknown as Record<string, unknown>;
    let source = from as unknown as Record<string, unknown>;
    for (const segment of path.slice(0, -1)) {
      target = target[segment] as Record<string, unknown>;
      source = source[segment] as Record<string, unknown>;
    }
    const last = path[path.length - 1]!;
    target[last] = structuredClone(source[last]);
  }
  return result;
}

/** Whether `key` is `prefix` or lies under it ("ingress.auth.usersFile" under "ingress.auth"). */
export function keyWithin(key: string, prefix: string): boolean {
  return key === prefix || key.startsWith(`${prefix}.`) || key.startsWith(`${prefix}[`);
}

function walk(a: unknown, b: unknown, path: string[], out: ConfigChange[]): void {
  if (!MAPPINGS.has(path.join('.')) && isRecord(a) && isRecord(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
      walk(a[k], b[k], [...path, k], out);
    return;
  }
  if (!isDeepStrictEqual(a, b)) out.push({ key: fileKey(path), path });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** ["ingress", "timeouts", "commandMs"] → "ingress.timeouts.command". */
function fileKey(path: readonly string[]): string {
  return path.map((segment) => segment.replace(/(?<=[a-z])Ms$/, '')).join('.');
}
