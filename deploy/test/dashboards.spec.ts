// The Grafana dashboards as the chart's sidecar loads them: plain dashboard
// JSON models, the Prometheus datasource chosen with a template variable and
// never a datasource UID written in, unique panel ids, panels that do not
// overlap, and PromQL that promtool parses. Whether each query returns data
// from a running relay is prometheus.spec.ts's business.
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_VARIABLES,
  DASHBOARD_FILES,
  DATASOURCE,
  allPanels,
  checkExpressions,
  dashboardQueries,
  loadDashboards,
  substitute,
  variablesIn,
  type Dashboard,
} from './deploy-files.js';

const files = loadDashboards();

/** Every [path, value] of the JSON tree whose key is `key`. */
function findKeys(node: unknown, key: string, path = '$'): [string, unknown][] {
  if (Array.isArray(node)) return node.flatMap((v, i) => findKeys(v, key, `${path}[${i}]`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) => [
    ...(k === key ? [[`${path}.${k}`, v] as [string, unknown]] : []),
    ...findKeys(v, key, `${path}.${k}`),
  ]);
}

describe('the Grafana dashboards', () => {
  it('are the four boards, each a dashboard model with a readable uid', () => {
    expect(files.map((f) => f.file)).toEqual([...DASHBOARD_FILES].sort());
    for (const { file, dashboard } of files) {
      expect(dashboard.uid, file).toBe(file.replace(/\.json$/, ''));
      expect(dashboard.title, file).toMatch(/^Petrel \/ /);
      expect(dashboard.schemaVersion, file).toBe(39);
      expect(dashboard['id'], file).toBeNull();
      // An export for sharing (__inputs, ${DS_...}) is not what the sidecar loads.
      expect(Object.keys(dashboard), file).not.toContain('__inputs');
      expect(Object.keys(dashboard), file).not.toContain('__requires');
      expect(dashboard.panels.length, file).toBeGreaterThan(0);
    }
  });

  it('choose the Prometheus datasource with a template variable and name no datasource UID', () => {
    for (const { file, text, dashboard } of files) {
      const variables = dashboard.templating.list;
      expect(variables[0], file).toMatchObject({
        name: 'datasource',
        type: 'datasource',
        query: 'prometheus',
      });
      // Every datasource reference is the variable; every uid but the board's own is too.
      for (const [path, value] of findKeys(dashboard, 'datasource'))
        expect(value, `${file} ${path}`).toEqual(DATASOURCE);
      for (const [path, value] of findKeys(dashboard, 'uid'))
        if (path !== '$.uid') expect(value, `${file} ${path}`).toBe('${datasource}');
      expect(text, file).not.toMatch(
        /\$\{DS_|-- Grafana --|"uid":\s*"(?!\$\{datasource\}|petrel-)/,
      );
    }
  });

  it('give every panel a unique id, a place of its own, a title and a description', () => {
    for (const { file, dashboard } of files) {
      const panels = allPanels(dashboard);
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size, `${file}: duplicate panel ids`).toBe(ids.length);
      for (const p of panels) {
        expect(p.title, `${file} panel ${p.id}`).toBeTruthy();
        const { x, w, h } = p.gridPos;
        expect(x + w, `${file} ${p.title}: wider than the grid`).toBeLessThanOrEqual(24);
        expect(w > 0 && h > 0, `${file} ${p.title}`).toBe(true);
        if (p.type === 'row') continue;
        expect(p.description, `${file} ${p.title}`).toBeTruthy();
        expect(p.targets?.length, `${file} ${p.title}: no query`).toBeGreaterThan(0);
        const refIds = p.targets!.map((t) => t.refId);
        expect(new Set(refIds).size, `${file} ${p.title}: refIds`).toBe(refIds.length);
        for (const t of p.targets!) expect(t.expr, `${file} ${p.title}`).toBeTruthy();
      }
      const overlaps: string[] = [];
      for (const [i, a] of panels.entries())
        for (const b of panels.slice(i + 1)) {
          const [p, q] = [a.gridPos, b.gridPos];
          if (p.x < q.x + q.w && q.x < p.x + p.w && p.y < q.y + q.h && q.y < p.y + p.h)
            overlaps.push(`${a.title} / ${b.title}`);
        }
      expect(overlaps, `${file}: overlapping panels`).toEqual([]);
    }
  });

  it('use only the variables they define', () => {
    const undefinedVariables: string[] = [];
    for (const { file, dashboard } of files) {
      const defined = new Set([
        ...Object.keys(BUILTIN_VARIABLES),
        ...dashboard.templating.list.map((v) => v.name),
      ]);
      for (const { where, expr } of dashboardQueries([{ file, text: '', dashboard }]))
        for (const name of variablesIn(expr))
          if (!defined.has(name)) undefinedVariables.push(`${where}: $${name}`);
      for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
        expect(variable.datasource, `${file} $${variable.name}`).toEqual(DATASOURCE);
        expect(variable.definition, `${file} $${variable.name}`).toMatch(
          /^label_values\(\w+, \w+\)$/,
        );
      }
    }
    expect(undefinedVariables).toEqual([]);
  });

  it('query in PromQL that promtool parses', async () => {
    const queries = files.flatMap(({ file, text, dashboard }) =>
      dashboardQueries([{ file, text, dashboard }]).map((q) => ({
        ...q,
        promql: substitute(q.expr, (dashboard as Dashboard).templating.list),
      })),
    );
    expect(queries.length).toBeGreaterThan(40);
    const result = await checkExpressions(queries.map((q) => q.promql));
    // promtool names a bad one as the recording rule "expr:<n>".
    const named = result.output.replace(/expr:(\d+)/g, (m, n: string) => {
      const q = queries[Number(n)];
      return q === undefined ? m : `${q.where}: ${q.promql}`;
    });
    expect(result.code, named).toBe(0);
  });
});
