/**
 * Loads the Grafana dashboards of the chart and lists every PromQL query they run, with Grafana
 * variables substituted so the query can be sent to a real Prometheus as is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './contract.ts';
import { expandVariables } from './promql.ts';

export const dashboardsDir = resolve(repoRoot, 'charts/session-auth/files/dashboards');

export interface DataSourceRef {
  type?: string;
  uid?: string;
}

export interface Target {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  datasource?: DataSourceRef | string;
}

export interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: DataSourceRef | string | null;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}

export interface TemplateVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: DataSourceRef | string | null;
  includeAll?: boolean;
  allValue?: string;
}

export interface Annotation {
  name: string;
  expr?: string;
  datasource?: DataSourceRef | string;
  builtIn?: number;
}

export interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  templating?: { list?: TemplateVariable[] };
  annotations?: { list?: Annotation[] };
  panels?: Panel[];
}

export interface LoadedDashboard {
  file: string;
  dashboard: Dashboard;
}

export interface DashboardQuery {
  file: string;
  /** "panel <title> / <refId>", "annotation <name>" */
  where: string;
  /** The query as written, with Grafana variables. */
  raw: string;
  /** The query with variables substituted (ready for /api/v1/query). */
  expr: string;
}

export function loadDashboards(dir = dashboardsDir): LoadedDashboard[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Dashboard }));
}

/** Every panel, rows' nested panels included, rows themselves excluded. */
export function flattenPanels(panels: Panel[] = []): Panel[] {
  return panels.flatMap((panel) => (panel.type === 'row' ? flattenPanels(panel.panels ?? []) : [panel]));
}

export function variableQuery(variable: TemplateVariable): string | undefined {
  return typeof variable.query === 'string' ? variable.query : variable.query?.query;
}

/** Values the tests give each template variable (a selection that matches every instance). */
export function variableValues(dashboard: Dashboard, overrides: Record<string, string> = {}): Record<string, string> {
  const known: Record<string, string> = { job: 'session-auth', instance: '.*', pod: '.*', namespace: '.*' };
  const values: Record<string, string> = {};
  for (const variable of dashboard.templating?.list ?? []) {
    values[variable.name] = overrides[variable.name] ?? known[variable.name] ?? variable.allValue ?? '.*';
  }
  return values;
}

/** Every PromQL query of a dashboard: panel targets and annotation queries. */
export function dashboardQueries({ file, dashboard }: LoadedDashboard, overrides: Record<string, string> = {}): DashboardQuery[] {
  const values = variableValues(dashboard, overrides);
  const queries: DashboardQuery[] = [];
  for (const panel of flattenPanels(dashboard.panels)) {
    for (const target of panel.targets ?? []) {
      const raw = target.expr ?? '';
      queries.push({ file, where: `panel "${panel.title ?? panel.id}" / ${target.refId ?? '?'}`, raw, expr: expandVariables(raw, values, { strict: false }) });
    }
  }
  for (const annotation of dashboard.annotations?.list ?? []) {
    if (annotation.builtIn || annotation.expr === undefined) continue;
    queries.push({ file, where: `annotation "${annotation.name}"`, raw: annotation.expr, expr: expandVariables(annotation.expr, values, { strict: false }) });
  }
  return queries;
}

/** Parses Grafana's `label_values(selector, label)` / `label_values(label)`. */
export function parseLabelValues(query: string): { label: string; match?: string } | undefined {
  const m = /^\s*label_values\(\s*(?:(.*)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/s.exec(query);
  if (!m) return undefined;
  const match = m[1]?.trim();
  return { label: m[2] ?? '', ...(match ? { match } : {}) };
}
