// Turns the schema's issues into the operator's lines: "<key>: <problem>",
// with the environment variable that set the key when one did, and a
// "did you mean" for unknown keys.
//
// Does not: word value problems (values.ts and file-schema.ts do, where the
// expectation is known).

import type * as z from 'zod';
import { closest } from './closest.js';
import type { EnvOverride } from './env-overrides.js';
import { formatKeyPath, keyPaths, nodeAt, type KeyNode } from './key-tree.js';
import { expectedMessage } from './values.js';

export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  tree: KeyNode,
  overrides: readonly EnvOverride[],
): string[] {
  const label = (path: readonly PropertyKey[]): string => {
    const override = overrides.findLast((o) => o.path.every((key, i) => path[i] === key));
    const from = override === undefined ? '' : ` (from ${override.variable})`;
    return `${formatKeyPath(path)}${from}`;
  };
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const hint = unknownKeyHint(tree, issue.path, key);
        lines.push(`${label([...issue.path, key])}: unknown key${hint}`);
      }
    } else {
      lines.push(`${label(issue.path)}: ${issue.message}`);
    }
  }
  return lines;
}

/** For the rare issue no validator worded (zod's own checks). */
export function fallbackMessage(issue: z.core.$ZodRawIssue): string {
  if (issue.code === 'invalid_type') return expectedMessage(issue.input, `a ${issue.expected}`);
  return issue.message ?? `invalid (${issue.code})`;
}

function unknownKeyHint(tree: KeyNode, parent: readonly PropertyKey[], key: string): string {
  const node = nodeAt(tree, parent);
  const siblings = node?.kind === 'section' ? [...node.keys.keys()] : [];
  // Durations are written with units and without the Ms of the services' names.
  const unsuffixed = key.endsWith('Ms') ? key.slice(0, -2) : null;
  if (unsuffixed !== null && siblings.includes(unsuffixed)) {
    return ` (did you mean ${unsuffixed}? durations are written with units, such as 30s)`;
  }
  const near = closest(key, siblings);
  if (near !== null) return ` (did you mean ${near}?)`;
  // A key written in the wrong section: "maxMessageSize" at the top level.
  for (const { path } of keyPaths(tree)) {
    if (path.at(-1)?.toLowerCase() === key.toLowerCase())
      return ` (did you mean ${path.join('.')}?)`;
  }
  return '';
}
