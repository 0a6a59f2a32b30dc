// The Prometheus alert rules: promtool accepts them (`check rules`) and their
// unit tests pass (`test rules`); every alert has a severity, a summary, a
// description and a runbook link to its own entry in docs/operations.md, and
// unit tests where it fires and where it does not.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  OPERATIONS_MD,
  RULES_FILE,
  RULES_TEST_FILE,
  RUNBOOK,
  alertSides,
  loadAlerts,
  promtool,
} from './deploy-files.js';

const alerts = loadAlerts();

describe('the Prometheus rules', () => {
  it('pass promtool check rules', async () => {
    const result = await promtool(['check', 'rules', RULES_FILE]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('pass their unit tests (promtool test rules)', async () => {
    const result = await promtool(['test', 'rules', RULES_TEST_FILE]);
    expect(result.code, result.output).toBe(0);
  });

  it('are the alerts the runbook documents, each with a severity, a summary, a description and a runbook link', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual([
      'PetrelCertificateExpiring',
      'PetrelDeliveryFailureRatioHigh',
      'PetrelIngressStorageRefusals',
      'PetrelJobsFailed',
      'PetrelNoEgressConsuming',
      'PetrelOldestMessageOld',
      'PetrelQueueGrowing',
      'PetrelRedisMemoryHigh',
      'PetrelRedisNotPersisting',
    ]);
    const runbook = readFileSync(OPERATIONS_MD, 'utf8');
    for (const alert of alerts) {
      const anchor = `alert-${alert.alert.toLowerCase()}`;
      expect(alert.labels?.['severity'], alert.alert).toMatch(/^(warning|critical)$/);
      expect(alert.annotations?.['summary'], alert.alert).toBeTruthy();
      expect(alert.annotations?.['description'], alert.alert).toBeTruthy();
      expect(alert.annotations?.['runbook_url'], alert.alert).toBe(`${RUNBOOK}#${anchor}`);
      expect(
        runbook.includes(`<a id="${anchor}"></a>`),
        `docs/operations.md has no <a id="${anchor}"></a>`,
      ).toBe(true);
      expect(alert.for, alert.alert).toMatch(/^\d+[smh]$/);
      // prometheus.spec.ts evaluates these sides against a running relay.
      expect(alertSides(alert.expr).length, alert.alert).toBeGreaterThan(0);
    }
  });

  it('have unit tests where each alert fires and where it does not', () => {
    const file = parse(readFileSync(RULES_TEST_FILE, 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    const cases = file.tests.flatMap((t) => t.alert_rule_test ?? []);
    const missing: string[] = [];
    for (const { alert } of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      if (!mine.some((c) => (c.exp_alerts ?? []).length > 0)) missing.push(`${alert} firing`);
      if (!mine.some((c) => (c.exp_alerts ?? []).length === 0)) missing.push(`${alert} not firing`);
    }
    expect(missing).toEqual([]);
  });
});
