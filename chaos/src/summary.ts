import type { RunRecord } from './experiments/runner.js';
import { FIGURE_ROWS } from './report/html.js';
import type { Figures } from './figures.js';
import { alertTimes } from './alerts.js';

/** Plain-text table: one row per figure, one column per run (first trial; median/worst with --trials). */
export function summaryTable(records: RunRecord[]): string {
  const header = ['figure', ...records.map((r) => `${r.experiment} / ${r.topology}`)];
  const rows: string[][] = [header];
  for (const [, label, fmt] of FIGURE_ROWS) {
    rows.push([label, ...records.map((r) => (r.trials[0] ? fmt(r.trials[0].figures as Figures) : 'n/a'))]);
  }
  rows.push(['verdict', ...records.map((r) => r.verdict.toUpperCase())]);
  const widths = header.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]): string => row.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ');
  const sep = widths.map((w) => '-'.repeat(w)).join('-+-');
  return [line(header), sep, ...rows.slice(1).map(line)].join('\n');
}

export function aggregateTable(record: RunRecord): string {
  const rows = record.aggregate.map((a) => {
    const ms = String(a.figure).endsWith('Ms');
    const f = (v: number | null): string => (v === null ? 'n/a' : ms ? `${(v / 1000).toFixed(2)} s` : String(v));
    return [String(a.figure), f(a.median), f(a.worst)];
  });
  const all = [['figure', 'median', 'worst'], ...rows];
  const widths = [0, 1, 2].map((i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')).join('\n');
}

/** One line per run: the alerts that went pending or fired (Prometheus with the chart's rules). */
export function alertsSummary(records: RunRecord[]): string {
  return records
    .map((r) => {
      const head = `alerts during ${r.experiment} / ${r.topology}:`;
      if (!r.alerts) return `${head} not watched (no Prometheus)`;
      const list = alertTimes(r).map((a) => `${a.alert} (${a.severity}) ${a.state}${a.state === 'firing' ? ` at ${a.firing}` : ` from ${a.pending}`}`);
      return `${head} ${list.length ? list.join('; ') : 'none'}`;
    })
    .join('\n');
}
