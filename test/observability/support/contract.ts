/**
 * The metrics contract, parsed from docs/contracts.md ("## Metrics" table and the "Op values:"
 * line), so dashboards, alerts and the docs cannot drift apart silently.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import promClient from 'prom-client';
import type { PromqlUsage } from './promql.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const contractsPath = resolve(repoRoot, 'docs/contracts.md');

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface ContractMetric {
  name: string;
  type: MetricType;
  /** label name -> allowed values, or null when the contract leaves values open (e.g. `route`). */
  labels: Map<string, string[] | null>;
}

export interface MetricsContract {
  metrics: Map<string, ContractMetric>;
  /** Prefixes of prom-client default metrics the contract allows (`process_`, `nodejs_`). */
  defaultPrefixes: string[];
}

/** Labels Prometheus attaches at scrape time (static config and Kubernetes service discovery). */
export const TARGET_LABELS = ['job', 'instance', 'pod', 'namespace', 'service', 'container', 'endpoint', 'node'];

/** Series Prometheus itself writes for every scrape target. */
export const SYNTHETIC_SERIES = [
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
];

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((cell) => cell.trim());
}

function backticked(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
}

/**
 * Parses a labels cell such as
 * "`outcome` (valid, missing, invalid), `source` (store, cache)" or "`route` (router pattern or `unmatched`)".
 */
function parseLabels(cell: string, opValues: string[]): Map<string, string[] | null> {
  const labels = new Map<string, string[] | null>();
  const pattern = /`([a-zA-Z_][a-zA-Z0-9_]*)`\s*(?:\(([^)]*)\))?/g;
  for (const match of cell.matchAll(pattern)) {
    const name = match[1] ?? '';
    // A backticked word inside a previous label's parentheses is a value, not a label.
    const before = cell.slice(0, match.index);
    if ((before.match(/\(/g) ?? []).length > (before.match(/\)/g) ?? []).length) continue;
    const list = match[2];
    let values: string[] | null = null;
    if (list !== undefined) {
      const items = list.split(',').map((item) => item.trim());
      values = items.every((item) => /^[a-z0-9_]+$/i.test(item)) ? items : null;
    } else if (name === 'op' && opValues.length > 0) {
      values = opValues;
    }
    labels.set(name, values);
  }
  return labels;
}

export function parseMetricsContract(markdown = readFileSync(contractsPath, 'utf8')): MetricsContract {
  const section = /^## Metrics\b[^\n]*\n([\s\S]*?)(?=^## )/m.exec(markdown)?.[1];
  if (!section) throw new Error(`no "## Metrics" section in ${contractsPath}`);
  const opStart = section.search(/^Op values:/m);
  const opLine = opStart === -1 ? '' : (section.slice(opStart).split(/\n\s*\n/)[0] ?? '');
  const opValues = backticked(opLine);

  const metrics = new Map<string, ContractMetric>();
  const defaultPrefixes: string[] = [];
  for (const line of section.split('\n')) {
    if (!line.trim().startsWith('|')) continue;
    const [nameCell = '', typeCell = '', labelsCell = ''] = cells(line);
    if (/^-+$/.test(nameCell) || nameCell === 'name') continue;
    const name = /^`([a-zA-Z_:][a-zA-Z0-9_:]*)`$/.exec(nameCell)?.[1];
    if (name === undefined) {
      // "default process metrics | | `process_*`, `nodejs_*` (...)"
      for (const item of backticked(labelsCell)) {
        if (item.endsWith('*')) defaultPrefixes.push(item.slice(0, -1));
      }
      continue;
    }
    const type = typeCell.toLowerCase() as MetricType;
    if (!['counter', 'gauge', 'histogram', 'summary'].includes(type)) {
      throw new Error(`contracts.md: metric ${name} has unknown type "${typeCell}"`);
    }
    metrics.set(name, { name, type, labels: parseLabels(labelsCell, opValues) });
  }
  if (metrics.size === 0) throw new Error('contracts.md: metrics table is empty');
  return { metrics, defaultPrefixes };
}

/** Series names prom-client's collectDefaultMetrics() exports (histograms expanded). */
export async function defaultMetricSeries(): Promise<Set<string>> {
  const registry = new promClient.Registry();
  promClient.collectDefaultMetrics({ register: registry });
  const json = await registry.getMetricsAsJSON();
  registry.clear();
  const names = new Set<string>();
  for (const metric of json) {
    const type = String(metric.type);
    if (type === 'histogram') for (const suffix of HISTOGRAM_SUFFIXES) names.add(metric.name + suffix);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(metric.name + suffix);
    else names.add(metric.name);
  }
  return names;
}

export interface SeriesInfo {
  /** Contract metric the series belongs to; undefined for default and synthetic series. */
  metric?: ContractMetric;
  /** Labels allowed in matchers and groupings; undefined means "not checked". */
  labels?: Map<string, string[] | null>;
}

/** Every series name a query may use -> what is known about its labels. */
export async function allowedSeries(contract = parseMetricsContract()): Promise<Map<string, SeriesInfo>> {
  const series = new Map<string, SeriesInfo>();
  const targetLabels = (): Map<string, string[] | null> => new Map(TARGET_LABELS.map((label) => [label, null]));
  for (const metric of contract.metrics.values()) {
    const labels = new Map([...targetLabels(), ...metric.labels]);
    if (metric.type === 'histogram') {
      series.set(`${metric.name}_bucket`, { metric, labels: new Map([...labels, ['le', null]]) });
      series.set(`${metric.name}_sum`, { metric, labels });
      series.set(`${metric.name}_count`, { metric, labels });
    } else {
      series.set(metric.name, { metric, labels });
    }
  }
  for (const name of await defaultMetricSeries()) {
    if (contract.defaultPrefixes.some((prefix) => name.startsWith(prefix))) series.set(name, {});
  }
  for (const name of SYNTHETIC_SERIES) series.set(name, { labels: targetLabels() });
  return series;
}

/** Regex matcher values that are a plain alternation (`a|b|c`) can be checked value by value. */
function alternatives(value: string): string[] | undefined {
  return /^[A-Za-z0-9_]+(?:\|[A-Za-z0-9_]+)*$/.test(value) ? value.split('|') : undefined;
}

/**
 * What is wrong with a query against the contract: unknown series, labels a series does not
 * have, label values outside the contract's list. Empty when the query is fine.
 */
export function contractProblems(usage: PromqlUsage, series: Map<string, SeriesInfo>): string[] {
  const problems: string[] = [];
  const labelsInQuery = new Set<string>(TARGET_LABELS);
  for (const selector of usage.selectors) {
    if (selector.metric === undefined) {
      problems.push(`selector without a metric name: {${selector.matchers.map((m) => m.label).join(', ')}}`);
      continue;
    }
    const info = series.get(selector.metric);
    if (info === undefined) {
      problems.push(`unknown metric ${selector.metric} (not in docs/contracts.md)`);
      continue;
    }
    if (info.labels === undefined) {
      for (const matcher of selector.matchers) labelsInQuery.add(matcher.label);
      continue;
    }
    for (const label of info.labels.keys()) labelsInQuery.add(label);
    for (const matcher of selector.matchers) {
      if (!info.labels.has(matcher.label)) {
        problems.push(`${selector.metric} has no label "${matcher.label}"`);
        continue;
      }
      const allowed = info.labels.get(matcher.label);
      if (!allowed) continue;
      const values = matcher.op === '=' || matcher.op === '!=' ? [matcher.value] : alternatives(matcher.value);
      for (const value of values ?? []) {
        if (!allowed.includes(value)) {
          problems.push(`${selector.metric}{${matcher.label}${matcher.op}"${matcher.value}"}: "${value}" is not one of ${allowed.join(', ')}`);
        }
      }
    }
  }
  // Label names of default metrics are not in the contract: only judge groupings of contract series.
  const onlyKnownLabels = usage.selectors.every((s) => s.metric !== undefined && series.get(s.metric)?.labels !== undefined);
  if (onlyKnownLabels) {
    for (const label of usage.groupingLabels) {
      if (!labelsInQuery.has(label)) problems.push(`grouping by "${label}", which no series of the query has`);
    }
  }
  return problems;
}
