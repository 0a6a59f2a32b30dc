// What the deploy tests read: the Grafana dashboards (deploy/grafana/*.json)
// and the Prometheus rules (deploy/prometheus/petrel-rules.yml), and the few
// things done to their PromQL: Grafana's variables replaced by values a
// Prometheus accepts, an alert's expression cut into the sides that must
// return data, and promtool run on them.
//
// Does not: understand PromQL. The cuts are made at the top level of the text
// (outside parentheses, braces, brackets and strings), which is enough for the
// shapes these files use: `<expr> <comparison> <number>`, joined by `and`,
// `or` or `unless`.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';

const run = promisify(execFile);

export const DEPLOY = join(import.meta.dirname, '..');
export const GRAFANA = join(DEPLOY, 'grafana');
export const RULES_FILE = join(DEPLOY, 'prometheus', 'petrel-rules.yml');
export const RULES_TEST_FILE = join(DEPLOY, 'prometheus', 'petrel-rules.test.yml');
export const OPERATIONS_MD = join(DEPLOY, '..', 'docs', 'operations.md');
export const RUNBOOK = 'https://github.com/petrel-mta/petrel/blob/main/docs/operations.md';

export const PROMETHEUS_INSTALL_HINT =
  "Debian's prometheus package (prometheus, promtool) is needed: apt-get install -y prometheus";

/** The datasource every panel, target and query variable names. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

export interface Target {
  readonly datasource?: unknown;
  readonly expr?: string;
  readonly legendFormat?: string;
  readonly refId?: string;
}

export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly datasource?: unknown;
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly targets?: Target[];
  readonly panels?: Panel[];
}

export interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query?: unknown;
  readonly datasource?: unknown;
  readonly allValue?: string;
  readonly definition?: string;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: Panel[];
  readonly templating: { list: Variable[] };
  readonly [key: string]: unknown;
}

export interface DashboardFile {
  readonly file: string;
  readonly text: string;
  readonly dashboard: Dashboard;
}

export const DASHBOARD_FILES = [
  'petrel-overview.json',
  'petrel-ingress.json',
  'petrel-egress.json',
  'petrel-routing.json',
] as const;

/** Every JSON file of deploy/grafana, parsed. */
export function loadDashboards(): DashboardFile[] {
  return readdirSync(GRAFANA)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(GRAFANA, file), 'utf8');
      return { file, text, dashboard: JSON.parse(text) as Dashboard };
    });
}

/** The panels, those inside rows included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

export interface DashboardQuery {
  /** "petrel-egress.json / Attempts by outcome [A]" */
  readonly where: string;
  readonly expr: string;
  readonly legendFormat: string;
}

/** Every target's expression, with where it is. */
export function dashboardQueries(files: readonly DashboardFile[]): DashboardQuery[] {
  return files.flatMap(({ file, dashboard }) =>
    allPanels(dashboard).flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({
        where: `${file} / ${panel.title} [${target.refId ?? '?'}]`,
        expr: target.expr ?? '',
        legendFormat: target.legendFormat ?? '',
      })),
    ),
  );
}

/** Grafana's interval variables, as the tests give them. */
export const BUILTIN_VARIABLES: Readonly<Record<string, string>> = {
  __rate_interval: '1m',
  __interval: '1m',
  __range: '1h',
};

/**
 * The expression as Grafana sends it: built-in intervals replaced, and each
 * query variable by its "All" value (the test Prometheus has every series).
 */
export function substitute(expr: string, variables: readonly Variable[]): string {
  const values: Record<string, string> = { ...BUILTIN_VARIABLES };
  for (const variable of variables)
    if (variable.type === 'query') values[variable.name] = variable.allValue ?? '.*';
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (match, braced?: string, bare?: string) => {
    const value = values[(braced ?? bare)!];
    return value ?? match;
  });
}

/** The variables an expression names ($x, ${x}). */
export function variablesIn(expr: string): string[] {
  return [...expr.matchAll(/\$\{(\w+)\}|\$(\w+)/g)].map((m) => (m[1] ?? m[2])!);
}

/**
 * The labels each series of the result must carry: every {{label}} of the
 * legend, and the grouping of the outermost aggregation when the expression
 * starts with one (`sum by (a, b) (...)`, `histogram_quantile(q, sum by (le, a) (...))`),
 * le excepted.
 */
export function expectedLabels(expr: string, legendFormat: string): string[] {
  const labels = new Set<string>();
  for (const m of legendFormat.matchAll(/\{\{\s*(\w+)\s*\}\}/g)) labels.add(m[1]!);
  const outer =
    /^\s*(?:histogram_quantile\(\s*[\d.]+\s*,\s*)?(?:sum|max|min|avg|count)\s+by\s*\(([^)]*)\)/.exec(
      expr,
    );
  for (const label of outer?.[1]?.split(',') ?? []) {
    const name = label.trim();
    if (name !== '' && name !== 'le') labels.add(name);
  }
  return [...labels].sort();
}

// ------------------------------------------------------------------ rules

export interface AlertRule {
  readonly group: string;
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function loadAlerts(): AlertRule[] {
  const file = parse(readFileSync(RULES_FILE, 'utf8')) as {
    groups: { name: string; rules: (Omit<AlertRule, 'group'> & { record?: string })[] }[];
  };
  return file.groups.flatMap((group) =>
    group.rules
      .filter((rule) => rule.alert !== undefined)
      .map((rule) => ({ ...rule, group: group.name })),
  );
}

/** Splits at the top level of the expression: outside (), {}, [] and strings. */
function topLevel(expr: string): { index: number; char: string }[] {
  const out: { index: number; char: string }[] = [];
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (quote !== null) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if ('({['.includes(c)) depth++;
    else if (')}]'.includes(c)) depth--;
    else if (depth === 0) out.push({ index: i, char: c });
  }
  return out;
}

/**
 * The parts of an alert's expression that must return data for the alert to
 * be able to fire: each operand of a top-level and/or/unless, without its
 * trailing `<comparison> <number>`. Throws for a part with no such threshold.
 */
export function alertSides(expr: string): string[] {
  const flat = expr.replace(/\s+/g, ' ').trim();
  const positions = new Set(topLevel(flat).map((p) => p.index));
  const parts: string[] = [];
  let start = 0;
  for (const m of flat.matchAll(/ (and|or|unless) /g)) {
    if (!positions.has(m.index)) continue;
    parts.push(flat.slice(start, m.index));
    start = m.index + m[0].length;
  }
  parts.push(flat.slice(start));
  return parts.map((part) => {
    const top = new Set(topLevel(part).map((p) => p.index));
    const m = /\s*(>=|<=|==|!=|>|<)\s*(bool\s+)?-?[\d.]+(e[+-]?\d+)?\s*$/.exec(part);
    if (m === null || !top.has(m.index + m[0].indexOf(m[1]!)))
      throw new Error(`no top-level "<comparison> <number>" at the end of: ${part}`);
    return part.slice(0, m.index).trim();
  });
}

// ------------------------------------------------------------------ promtool

export interface CommandResult {
  readonly code: number;
  readonly output: string;
}

/** Runs promtool; never rejects (the exit code and output are the result). */
export async function promtool(args: readonly string[]): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await run('promtool', [...args], {
      cwd: DEPLOY,
      timeout: 60_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error(PROMETHEUS_INSTALL_HINT, { cause: err });
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout}${e.stderr}` };
  }
}

/**
 * Parses each expression with promtool, offline: they become recording rules
 * `expr:<n>` of a throwaway rules file given to `promtool check rules`.
 */
export async function checkExpressions(exprs: readonly string[]): Promise<CommandResult> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-exprs-'));
  try {
    const file = join(dir, 'exprs.yml');
    const rules = exprs.map((expr, n) => ({ record: `expr:${n}`, expr }));
    writeFileSync(file, stringify({ groups: [{ name: 'expressions', rules }] }));
    return await promtool(['check', 'rules', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
