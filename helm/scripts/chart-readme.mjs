// Writes the values table of helm/petrel/README.md from values.schema.json and
// values.yaml, between the markers. `--check` exits 1 when the README is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const chart = join(dirname(fileURLToPath(import.meta.url)), '..', 'petrel');
const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8'));
const values = YAML.parse(readFileSync(join(chart, 'values.yaml'), 'utf8'));
const BEGIN = '<!-- values-table:begin -->';
const END = '<!-- values-table:end -->';

function at(obj, path) {
  return path.reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function rows(node, path) {
  const out = [];
  const props = node.properties ?? {};
  const leaf = node.type !== 'object' || Object.keys(props).length === 0;
  if (path.length > 0 && leaf) {
    const type = node.enum ? node.enum.map((e) => `\`${e}\``).join(' \\| ') : (node.type ?? 'any');
    const dflt = JSON.stringify(at(values, path)) ?? '';
    const desc = (node.description ?? '').replace(/\|/g, '\\|');
    out.push(`| \`${path.join('.')}\` | ${type} | \`${dflt.replace(/\|/g, '\\|')}\` | ${desc} |`);
  }
  for (const [k, child] of Object.entries(props)) out.push(...rows(child, [...path, k]));
  return out;
}

export function table() {
  return ['| key | type | default | description |', '|---|---|---|---|', ...rows(schema, [])].join(
    '\n',
  );
}

export function render(readme) {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README lacks ${BEGIN} … ${END}`);
  return `${readme.slice(0, start + BEGIN.length)}\n${table()}\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = join(chart, 'README.md');
  const readme = readFileSync(file, 'utf8');
  const next = render(readme);
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('helm/petrel/README.md is stale: run npm run readme -w helm');
      process.exit(1);
    }
  } else writeFileSync(file, next);
}
