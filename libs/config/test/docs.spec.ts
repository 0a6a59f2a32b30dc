// docs/configuration.md is the operators' reference: this keeps it true.
// Its YAML example must load to exactly the defaults, and every key and
// reserved variable must be named in it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RESERVED_VARIABLES } from '../src/env-overrides.js';
import { fileSchema } from '../src/file-schema.js';
import { envVariable, keyPaths, keyTree } from '../src/key-tree.js';
import { defaultConfig, loadConfig } from '../src/load-config.js';

const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');

describe('docs/configuration.md', () => {
  it('shows the whole file with exactly the defaults', () => {
    const example = /## The whole file, with its defaults\n\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    expect(loadConfig({ env: {}, text: example })).toEqual(defaultConfig());
  });

  it('names the environment variable of every key', () => {
    const missing = [...keyPaths(keyTree(fileSchema))]
      .filter(({ node }) => node.kind !== 'section')
      .map(({ path }) => envVariable(path))
      .filter((name) => !doc.includes(`| \`${name}\``) && !doc.includes(`, \`${name}\``));
    expect(missing).toEqual([]);
  });

  it('lists every reserved variable', () => {
    for (const name of RESERVED_VARIABLES.keys()) expect(doc).toContain(`| \`${name}\``);
  });
});
