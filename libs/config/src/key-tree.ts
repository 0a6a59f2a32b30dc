// The keys of the configuration file as a tree, read off the schema: what the
// environment overrides can name, what "did you mean" can suggest, and what
// docs/configuration.md must list. Deriving it keeps one source of truth.
//
// A key is a section (a mapping of known keys, which the environment can
// descend into), a list, a map of names the operator chooses, or a value;
// lists, maps and values are set whole.
//
// Does not: validate anything (the schema does).

import type * as z from 'zod';

export type KeyNode =
  | { readonly kind: 'section'; readonly keys: ReadonlyMap<string, KeyNode> }
  | { readonly kind: 'list'; readonly element: KeyNode }
  | { readonly kind: 'map' }
  | { readonly kind: 'value' };

export function keyTree(schema: z.ZodType): KeyNode {
  const type = schema as unknown as z.core.$ZodTypes;
  const def = type._zod.def;
  switch (def.type) {
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'optional':
      return keyTree(def.innerType as z.ZodType);
    case 'pipe':
      return keyTree(def.in as z.ZodType);
    case 'object': {
      const keys = new Map<string, KeyNode>();
      for (const [name, child] of Object.entries(def.shape)) {
        keys.set(name, keyTree(child as z.ZodType));
      }
      return { kind: 'section', keys };
    }
    case 'array':
      return { kind: 'list', element: keyTree(def.element as z.ZodType) };
    case 'record':
      return { kind: 'map' };
    default:
      return { kind: 'value' };
  }
}

/** The node at `path` (keys and list indices), or null when there is none. */
export function nodeAt(tree: KeyNode, path: readonly PropertyKey[]): KeyNode | null {
  let node: KeyNode = tree;
  for (const segment of path) {
    if (node.kind === 'section' && typeof segment === 'string') {
      const next = node.keys.get(segment);
      if (next === undefined) return null;
      node = next;
    } else if (node.kind === 'list' && typeof segment === 'number') {
      node = node.element;
    } else {
      return null;
    }
  }
  return node;
}

/** Every key path under sections, in schema order, with its node. */
export function* keyPaths(
  tree: KeyNode,
  prefix: readonly string[] = [],
): Generator<{ readonly path: readonly string[]; readonly node: KeyNode }> {
  if (tree.kind !== 'section') return;
  for (const [name, node] of tree.keys) {
    const path = [...prefix, name];
    yield { path, node };
    yield* keyPaths(node, path);
  }
}

/** "ingress.listeners[0].port"; keys that are not identifiers are quoted. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_][\w]*$/.test(segment)) {
      out += out === '' ? segment : `.${segment}`;
    } else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out === '' ? '(top level)' : out;
}

/** The environment variable of a key path: PETREL_ and UPPER_SNAKE segments joined by "__". */
export function envVariable(path: readonly string[]): string {
  const segments = path.map((key) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase());
  return `PETREL_${segments.join('__')}`;
}
