/**
 * The alerting rules in charts/session-auth/files/prometheus: promtool accepts them, their unit
 * tests pass, each alert is tested firing and silent, and they follow the contract and the docs.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allowedSeries, contractProblems, repoRoot, type SeriesInfo } from './support/contract.ts';
import { analyzePromql } from './support/promql.ts';
import { findPrometheusBinary } from './support/prometheus.ts';

const rulesPath = resolve(repoRoot, 'charts/session-auth/files/prometheus/alerts.yaml');
const testsPath = resolve(repoRoot, 'charts/session-auth/files/prometheus/alerts.test.yaml');
const docsPath = resolve(repoRoot, 'docs/observability.md');
const JOB_MATCHER = '(.+-)?session-auth';
const SEVERITIES = ['critical', 'warning', 'info'];

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}
interface TestFile {
  rule_files: string[];
  tests: { name?: string; alert_rule_test?: { alertname: string; eval_time: string; exp_alerts?: unknown[] }[] }[];
}

const rules = parse(readFileSync(rulesPath, 'utf8')) as RuleFile;
const unitTests = parse(readFileSync(testsPath, 'utf8')) as TestFile;
const alerts = rules.groups.flatMap((group) => group.rules).filter((rule): rule is AlertRule & { alert: string } => rule.alert !== undefined);

function promtool(...args: string[]): { status: number | null; output: string } {
  const binary = findPrometheusBinary(process.env.PROMTOOL_BIN ?? 'promtool');
  if (!binary) {
    throw new Error('promtool not found on PATH: install it with `apt-get install prometheus` (Debian/Ubuntu) or set PROMTOOL_BIN');
  }
  const result = spawnSync(binary, args, { cwd: dirname(rulesPath), encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('promtool', () => {
  it('check rules accepts alerts.yaml', () => {
    const { status, output } = promtool('check', 'rules', rulesPath);
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  it('test rules passes alerts.test.yaml', () => {
    const { status, output } = promtool('test', 'rules', testsPath);
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });
});

describe('alerts.yaml', () => {
  let series: Map<string, SeriesInfo>;
  beforeAll(async () => {
    series = await allowedSeries();
  });

  it('defines the alerts the service is run by', () => {
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'SessionValidationLatencyHigh',
        'SessionStoreErrors',
        'SessionStoreUnavailable',
        'NoWritablePrimary',
        'RedisFailoverHappened',
        'RedisClusterSlotsWithoutPrimary',
        'LoginFailuresSpiking',
        'AuthReplicaDown',
      ]),
    );
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  });

  it('is plain YAML the chart can embed (no Helm templating outside alert annotations)', () => {
    const text = readFileSync(rulesPath, 'utf8');
    expect(text).not.toMatch(/\{\{-|-\}\}|\{\{\s*\.(Values|Release|Chart)/);
    for (const rule of alerts) expect(rule.expr, rule.alert).not.toContain('{{');
  });

  it.each(alerts.map((a) => [a.alert, a] as const))('%s has severity, summary, description and a runbook in the docs', (_name, rule) => {
    const docs = readFileSync(docsPath, 'utf8');
    expect(SEVERITIES).toContain(rule.labels?.severity);
    expect(rule.annotations?.summary).toBeTruthy();
    expect(rule.annotations?.description).toBeTruthy();
    expect(rule.annotations?.runbook).toBe(`docs/observability.md#${rule.alert.toLowerCase()}`);
    expect(docs, `docs/observability.md needs a "### ${rule.alert}" section`).toMatch(new RegExp(`^###\\s+${rule.alert}\\s*$`, 'm'));
  });

  it.each(alerts.map((a) => [a.alert, a] as const))('%s queries only the contract, scoped to the session-auth job', (_name, rule) => {
    const usage = analyzePromql(rule.expr);
    expect(contractProblems(usage, series)).toEqual([]);
    for (const selector of usage.selectors) {
      expect(selector.matchers, `${selector.metric} in ${rule.alert}`).toContainEqual({ label: 'job', op: '=~', value: JOB_MATCHER });
    }
  });

  it.each(alerts.map((a) => a.alert))('%s is unit-tested both firing and silent', (name) => {
    const cases = unitTests.tests.flatMap((t) => t.alert_rule_test ?? []).filter((c) => c.alertname === name);
    expect(cases.some((c) => (c.exp_alerts ?? []).length > 0), `a case where ${name} fires`).toBe(true);
    expect(cases.some((c) => (c.exp_alerts ?? []).length === 0), `a case where ${name} stays silent`).toBe(true);
  });
});
