/**
 * Static and live checks of the Grafana dashboards in charts/session-auth/files/dashboards:
 * structure, the datasource variable, metric names and labels against docs/contracts.md, and every
 * query parsed by a real Prometheus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedSeries, contractProblems, parseMetricsContract, type SeriesInfo } from './support/contract.ts';
import {
  dashboardQueries,
  flattenPanels,
  loadDashboards,
  parseLabelValues,
  variableQuery,
  variableValues,
  type DataSourceRef,
} from './support/dashboards.ts';
import { analyzePromql, expandVariables, GRAFANA_BUILTINS, referencedVariables } from './support/promql.ts';
import { findPrometheusBinary, startPrometheus, type PrometheusServer } from './support/prometheus.ts';

const EXPECTED_FILES = ['session-auth-overview.json', 'session-auth-runtime.json', 'session-auth-sessions.json'];
const PANEL_TYPES = ['timeseries', 'stat'];
const DATASOURCE = '${datasource}';

const dashboards = loadDashboards();
const contract = parseMetricsContract();
let series: Map<string, SeriesInfo>;

function usesDatasourceVariable(ref: DataSourceRef | string | null | undefined): boolean {
  if (typeof ref === 'string') return ref === DATASOURCE || ref === '$datasource';
  return ref?.uid === DATASOURCE && (ref.type === undefined || ref.type === 'prometheus');
}

beforeAll(async () => {
  series = await allowedSeries(contract);
});

describe('dashboard files', () => {
  it('are the expected dashboards', () => {
    expect(dashboards.map((d) => d.file)).toEqual(expect.arrayContaining(EXPECTED_FILES));
  });

  it('have fixed, unique uids and titles', () => {
    const uids = dashboards.map((d) => d.dashboard.uid);
    const titles = dashboards.map((d) => d.dashboard.title);
    for (const uid of uids) expect(uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(new Set(uids).size).toBe(uids.length);
    expect(new Set(titles).size).toBe(titles.length);
  });

  it('show every metric of the contract somewhere', () => {
    const used = new Set(
      dashboards.flatMap((d) => dashboardQueries(d).flatMap((q) => analyzePromql(q.expr).selectors.map((s) => s.metric))),
    );
    const missing = [...contract.metrics.values()]
      .filter((m) => (m.type === 'histogram' ? !['_bucket', '_sum', '_count'].some((s) => used.has(m.name + s)) : !used.has(m.name)))
      .map((m) => m.name);
    expect(missing, 'contract metrics no dashboard shows').toEqual([]);
  });
});

describe.each(dashboards)('$file', (loaded) => {
  const { dashboard } = loaded;
  const variables = dashboard.templating?.list ?? [];
  const panels = flattenPanels(dashboard.panels);

  it('uses a current schemaVersion', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
  });

  it('has a Prometheus datasource variable', () => {
    const datasource = variables.find((v) => v.name === 'datasource');
    expect(datasource, 'templating variable "datasource"').toBeDefined();
    expect(datasource?.type).toBe('datasource');
    expect(datasource?.query).toBe('prometheus');
  });

  it('has an instance or pod filter', () => {
    expect(variables.some((v) => v.name === 'instance' || v.name === 'pod')).toBe(true);
  });

  it('queries every variable, panel, target and annotation through ${datasource}', () => {
    const wrong: string[] = [];
    for (const variable of variables.filter((v) => v.type === 'query')) {
      if (!usesDatasourceVariable(variable.datasource)) wrong.push(`variable ${variable.name}`);
    }
    for (const panel of panels) {
      if (!usesDatasourceVariable(panel.datasource)) wrong.push(`panel "${panel.title}"`);
      for (const target of panel.targets ?? []) {
        if (!usesDatasourceVariable(target.datasource)) wrong.push(`panel "${panel.title}" target ${target.refId}`);
      }
    }
    for (const annotation of dashboard.annotations?.list ?? []) {
      if (!annotation.builtIn && !usesDatasourceVariable(annotation.datasource)) wrong.push(`annotation ${annotation.name}`);
    }
    expect(wrong).toEqual([]);
  });

  it('has timeseries/stat panels with unique ids, titles, queries and a place on the grid', () => {
    expect(panels.length).toBeGreaterThan(0);
    const ids = (dashboard.panels ?? []).flatMap((p) => [p.id, ...(p.panels ?? []).map((c) => c.id)]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(PANEL_TYPES, `type of panel "${panel.title}"`).toContain(panel.type);
      expect(panel.title, `title of panel ${panel.id}`).toBeTruthy();
      expect(panel.targets?.length, `targets of panel "${panel.title}"`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.expr?.trim(), `expr of "${panel.title}"`).toBeTruthy();
      const grid = panel.gridPos;
      expect(grid, `gridPos of "${panel.title}"`).toBeDefined();
      if (grid) expect(grid.x + grid.w, `gridPos of "${panel.title}"`).toBeLessThanOrEqual(24);
    }
  });

  it('references only defined variables', () => {
    const defined = new Set([...variables.map((v) => v.name), ...Object.keys(GRAFANA_BUILTINS)]);
    const texts = [
      ...dashboardQueries(loaded).map((q) => q.raw),
      ...variables.map((v) => variableQuery(v) ?? '').filter((q) => q !== 'prometheus'),
    ];
    const undefinedNames = texts.flatMap(referencedVariables).filter((name) => !defined.has(name) && name !== 'datasource');
    expect(undefinedNames).toEqual([]);
  });

  it('queries only metrics, labels and label values of the contract', () => {
    const problems = dashboardQueries(loaded).flatMap((q) =>
      contractProblems(analyzePromql(q.expr), series).map((problem) => `${q.where}: ${problem}`),
    );
    expect(problems).toEqual([]);
  });
});

describe('every dashboard query against a real Prometheus', () => {
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    if (!findPrometheusBinary()) {
      throw new Error('prometheus not found on PATH: install it (apt-get install prometheus) or set PROMETHEUS_BIN');
    }
    prometheus = await startPrometheus({ scrapeConfigs: [] });
  });

  afterAll(async () => {
    await prometheus?.stop();
  });

  it.each(dashboards)('$file: every panel and annotation query parses and evaluates', async (loaded) => {
    const failures: string[] = [];
    for (const query of dashboardQueries(loaded)) {
      const response = await prometheus!.query(query.expr);
      if (response.httpStatus !== 200 || response.status !== 'success') {
        failures.push(`${query.where}: HTTP ${response.httpStatus} ${response.errorType ?? ''}: ${response.error ?? ''}\n  ${query.expr}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it.each(dashboards)('$file: every label_values() variable query is accepted', async (loaded) => {
    const values = variableValues(loaded.dashboard);
    const failures: string[] = [];
    for (const variable of (loaded.dashboard.templating?.list ?? []).filter((v) => v.type === 'query')) {
      const query = variableQuery(variable) ?? '';
      const parsed = parseLabelValues(query);
      if (!parsed) {
        failures.push(`variable ${variable.name}: not a label_values() query: ${query}`);
        continue;
      }
      const match = parsed.match === undefined ? [] : [expandVariables(parsed.match, values)];
      const problems = match.flatMap((m) => contractProblems(analyzePromql(m), series));
      const response = await prometheus!.labelValues(parsed.label, match);
      if (response.httpStatus !== 200 || problems.length > 0) {
        failures.push(`variable ${variable.name}: HTTP ${response.httpStatus} ${response.error ?? ''} ${problems.join('; ')}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('rejects a broken query with HTTP 400 (the check above can fail)', async () => {
    const response = await prometheus!.query('sum(rate(http_request_duration_seconds_count[1m])');
    expect(response.httpStatus).toBe(400);
    expect(response.errorType).toBe('bad_data');
  });
});
