import type { RunRecord } from './record.js';
import { FIGURE_ROWS, fmtFigure, PARTITION_ROWS } from './report/html.js';
import { FIGURE_LABEL } from './report/labels.js';
import type { Figures } from './figures.js';
import { alertTimes } from './alerts.js';

/** Rows as an aligned plain-text table: every column as wide as its widest cell, header underlined. */
export function textTable(rows: string[][], opts: { sep?: string; underline?: boolean } = {}): string {
  const sep = opts.sep ?? ' | ';
  const cols = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: cols }, (_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  // The last column is not padded: no trailing blanks.
  const line = (row: string[]): string =>
    widths
      .map((w, i) => (i === cols - 1 ? (row[i] ?? '') : (row[i] ?? '') + ' '.repeat(w - [...(row[i] ?? '')].length)))
      .join(sep)
      .trimEnd();
  const out = rows.map(line);
  if (opts.underline && rows.length) out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join(sep.includes('|') ? sep.replace(/ /g, '-').replace('|', '+') : sep));
  return out.join('\n');
}

const trialCount = (records: RunRecord[]): number => Math.max(0, ...records.map((r) => r.trials.length));

/**
 * Plain-text table: one row per figure, one column per run, of each run's first trial. With
 * several trials it says so in its caption; `aggregateTable` then gives the medians and worst.
 */
export function summaryTable(records: RunRecord[]): string {
  const header = ['figure', ...records.map((r) => `${r.experiment} / ${r.topology}`)];
  const rows: string[][] = [header];
  const partitioned = records.some((r) => r.trials[0]?.fault.partition);
  for (const [, label, fmt] of partitioned ? [...FIGURE_ROWS, ...PARTITION_ROWS] : FIGURE_ROWS) {
    rows.push([label, ...records.map((r) => (r.trials[0] ? fmt(r.trials[0].figures as Figures) : 'n/a'))]);
  }
  rows.push(['verdict', ...records.map((r) => r.verdict.toUpperCase())]);
  const n = trialCount(records);
  const caption = n > 1 ? `trial 1 of ${n} (medians and worst of all ${n} below)` : null;
  const table = textTable(rows, { underline: true });
  return caption ? `${caption}\n${table}` : table;
}

/** Medians and worst of every aggregated figure over the trials of one run, with its caption. */
export function aggregateTable(record: RunRecord): string {
  const rows = record.aggregate.map((a) => [FIGURE_LABEL[a.figure], fmtFigure(a.figure, a.median), fmtFigure(a.figure, a.worst)]);
  const caption = `across all ${record.trials.length} trials of ${record.experiment} / ${record.topology}`;
  return `${caption}\n${textTable([['figure', 'median', 'worst'], ...rows], { underline: true })}`;
}

/** `list`: name, topologies and title of every experiment, in aligned columns. */
export function experimentList(list: { name: string; topologies: readonly string[]; title: string }[]): string {
  return textTable([['experiment', 'topologies', 'what it does'], ...list.map((e) => [e.name, e.topologies.join(', '), e.title])], { sep: '  ', underline: true });
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
