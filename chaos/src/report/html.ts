/**
 * Self-contained HTML reports: no scripts, no network, the timeline is inline SVG drawn here.
 */
import { fmtMs, type Bucket, type Figures } from '../figures.js';
import type { RunRecord, TrialRecord } from '../record.js';
import { alertTimes } from '../alerts.js';
import { FIGURE_LABEL, isDurationFigure, textWidth } from './labels.js';

export const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

export interface Marker {
  t: number;
  label: string;
  color: string;
}

/** A shaded span of the timeline (a partition's cut), relative to the fault. */
export interface Band {
  from: number;
  to: number;
}

/** The cuts of a partition (a flapping link has many), relative to the first. */
export function trialBands(trial: TrialRecord): Band[] {
  const p = trial.fault.partition;
  if (!p) return [];
  return p.cuts.map((c) => ({ from: c.at - trial.fault.at, to: (c.healAt ?? trial.endAt) - trial.fault.at }));
}

/** Markers relative to the kill (the first cut): kill, sdown, odown, switch-master, rollback (heal), first write/read ok. */
export function trialMarkers(trial: TrialRecord): Marker[] {
  const f = trial.figures;
  const p = trial.fault.partition;
  const m: Marker[] = [{ t: 0, label: p ? `cut ${p.minority.join('+')}` : `kill ${trial.fault.target.split(' ')[0]}`, color: '#000' }];
  if (f.detectionMs !== null) m.push({ t: f.detectionMs, label: '+sdown', color: '#7b1fa2' });
  if (f.odownMs !== null) m.push({ t: f.odownMs, label: '+odown', color: '#6a1b9a' });
  if (f.switchMs !== null) m.push({ t: f.switchMs, label: '+switch-master', color: '#1565c0' });
  if (f.rollbackMs !== null) m.push({ t: f.rollbackMs, label: p ? 'heal' : 'rollback (restart)', color: '#ef6c00' });
  if (f.firstWriteOkMs) m.push({ t: f.firstWriteOkMs, label: 'first write ok', color: '#2e7d32' });
  if (f.writeRecoveryMs && f.writeRecoveryMs !== f.firstWriteOkMs) m.push({ t: f.writeRecoveryMs, label: 'writes stable', color: '#1b5e20' });
  if (f.firstReadOkMs) m.push({ t: f.firstReadOkMs, label: 'first read ok', color: '#00838f' });
  if (f.readRecoveryMs && f.readRecoveryMs !== f.firstReadOkMs) m.push({ t: f.readRecoveryMs, label: 'reads stable', color: '#006064' });
  return m;
}

/** Geometry shared by every timeline, in SVG user units (the SVG scales to its container). */
export const CHART = { width: 1100, left: 52, right: 58, plotHeight: 200, bottom: 42, labelTop: 24, rowHeight: 14, fontSize: 11 } as const;
const LABEL_PAD = 3; // text starts this far right of its marker line
const LABEL_GAP = 8; // min horizontal gap between two labels in one row

/** One scale for several charts: same time range, request and latency axes, same label area. */
export interface ChartDomain {
  t0: number;
  t1: number;
  bucketMs: number;
  maxCount: number;
  latTop: number;
  /** rows of marker labels above the plot (the most any of the charts needs) */
  labelRows: number;
}

export interface ChartSeries {
  buckets: Bucket[];
  markers: Marker[];
}

/** A placed marker label: its text's box (top/bottom of its row) and the marker line at `x`. */
export interface LabelBox {
  marker: Marker;
  text: string;
  x: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  row: number;
}

export const markerText = (m: Marker): string => `${m.label} at ${(m.t / 1000).toFixed(2)}s`;

/**
 * Lays marker labels out in rows above the plot so that no two labels overlap and no marker line
 * crosses another marker's label. Markers go in time order, each into the first row where
 *  - it keeps LABEL_GAP from every label already in that row,
 *  - no line of a marker labelled in a row above runs through it (those lines pass this row), and
 *  - its own line, which runs down from its row to the plot, crosses no label in a row below.
 * Every label starts just right of its own line, so the lines of earlier markers lie left of it:
 * a new row below all the others always fits, and the loop ends for any number of markers.
 */
export function layoutMarkerLabels(markers: Marker[], xOf: (t: number) => number, opts: { top?: number; rowHeight?: number; fontSize?: number } = {}): LabelBox[] {
  const top = opts.top ?? CHART.labelTop;
  const rowHeight = opts.rowHeight ?? CHART.rowHeight;
  const fontSize = opts.fontSize ?? CHART.fontSize;
  const placed: LabelBox[] = [];
  const ordered = markers.map((m, i) => ({ m, i })).sort((a, b) => a.m.t - b.m.t || a.i - b.i);
  for (const { m } of ordered) {
    const text = markerText(m);
    const x = xOf(m.t);
    const left = x + LABEL_PAD;
    const right = left + textWidth(text, fontSize);
    const fits = (row: number): boolean =>
      placed.every((p) => {
        if (p.row === row) return right + LABEL_GAP <= p.left || p.right + LABEL_GAP <= left;
        if (p.row < row) return p.x < left - 1 || p.x > right + 1;
        return x < p.left - 1 || x > p.right + 1;
      });
    let row = 0;
    while (!fits(row)) row += 1;
    placed.push({ marker: m, text, x, left, right, top: top + row * rowHeight, bottom: top + (row + 1) * rowHeight, row });
  }
  return placed;
}

const plotWidth = (): number => CHART.width - CHART.left - CHART.right;
const xScale = (d: Pick<ChartDomain, 't0' | 't1'>) => (t: number): number => CHART.left + ((t - d.t0) / (d.t1 - d.t0)) * plotWidth();

/**
 * The domain that fits all these charts: the union of their time ranges (widened on the right
 * until every label fits inside the picture), the largest request count and latency, and the
 * most label rows any of them needs. Charts drawn with one domain compare at a glance.
 */
export function chartDomain(series: ChartSeries[]): ChartDomain {
  const all = series.flatMap((s) => s.buckets);
  const markers = series.flatMap((s) => s.markers);
  const withBuckets = series.find((s) => s.buckets.length > 1)?.buckets;
  const bucketMs = withBuckets ? (withBuckets[1] as Bucket).t - (withBuckets[0] as Bucket).t : 100;
  const times = [...all.map((b) => b.t), ...markers.map((m) => m.t)];
  const t0 = times.length ? Math.min(...times) : 0;
  let t1 = times.length ? Math.max(...all.map((b) => b.t + bucketMs), ...markers.map((m) => m.t + bucketMs)) : 1000;
  if (t1 <= t0) t1 = t0 + 1000;
  // Room on the right for every label that starts at its marker (it may use the right margin).
  for (const m of markers) {
    const room = (CHART.width - 4 - LABEL_PAD - textWidth(markerText(m)) - CHART.left) / plotWidth();
    const frac = Math.max(0.2, room);
    if (m.t > t0 && (m.t - t0) / (t1 - t0) > frac) t1 = t0 + (m.t - t0) / frac;
  }
  const maxCount = countAxis(Math.max(1, ...all.map((b) => b.ok + b.failed))).top;
  const maxLat = Math.max(100, ...all.map((b) => b.max ?? 0));
  const latTop = maxLat <= 500 ? 500 : maxLat <= 1000 ? 1000 : maxLat <= 3000 ? 3000 : Math.ceil(maxLat / 1000) * 1000;
  const x = xScale({ t0, t1 });
  const labelRows = Math.max(1, ...series.map((s) => 1 + Math.max(-1, ...layoutMarkerLabels(s.markers, x).map((b) => b.row))));
  return { t0, t1, bucketMs, maxCount, latTop, labelRows };
}

/** Request axis: a whole step of 1, 2 or 5 times a power of ten, at most ~5 of them up to `top`. */
export function countAxis(max: number): { top: number; step: number } {
  let step = 1;
  for (let p = 1; step * 5 < max; p *= 10) step = [1, 2, 5, 10].map((k) => k * p).find((s) => s * 5 >= max) ?? 10 * p;
  return { top: Math.max(step, Math.ceil(max / step) * step), step };
}

/** Seconds between x ticks: the smallest step that keeps at most ~25 ticks. */
function tickStepMs(spanMs: number): number {
  for (const s of [1, 2, 5, 10, 15, 30, 60, 120, 300, 600]) if (spanMs / (s * 1000) <= 25) return s * 1000;
  return Math.ceil(spanMs / 25 / 60_000) * 60_000;
}

export function timelineSvg(buckets: Bucket[], markers: Marker[], opts: { title?: string; domain?: ChartDomain; bands?: Band[] } = {}): string {
  const d = opts.domain ?? chartDomain([{ buckets, markers }]);
  const { width: W, left: L, plotHeight: ph } = CHART;
  const pw = plotWidth();
  const T = CHART.labelTop + d.labelRows * CHART.rowHeight + 6;
  const H = T + ph + CHART.bottom;
  const svgOpen = (h: number): string =>
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${h}" width="100%" preserveAspectRatio="xMinYMin meet" style="display:block;width:100%;height:auto" font-family="system-ui, sans-serif" font-size="${CHART.fontSize}" role="img"${opts.title ? ` aria-label="${esc(opts.title)}"` : ''}>`;
  if (buckets.length === 0) return `${svgOpen(60)}<text x="10" y="30">no samples</text></svg>`;
  const x = xScale(d);
  const yc = (n: number): number => T + ph - (n / d.maxCount) * ph;
  const yl = (ms: number): number => T + ph - (Math.min(ms, d.latTop) / d.latTop) * ph;
  const bw = Math.max(1, (d.bucketMs / (d.t1 - d.t0)) * pw - 0.5);
  const parts: string[] = [svgOpen(H)];
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  if (opts.title) parts.push(`<text x="${L}" y="14" font-size="13" font-weight="600">${esc(opts.title)}</text>`);
  // grid + x ticks
  const step = tickStepMs(d.t1 - d.t0);
  for (let s = Math.ceil(d.t0 / step) * step; s <= d.t1; s += step) {
    parts.push(`<line x1="${x(s).toFixed(1)}" y1="${T}" x2="${x(s).toFixed(1)}" y2="${T + ph}" stroke="#eee"/>`);
    parts.push(`<text x="${x(s).toFixed(1)}" y="${T + ph + 14}" text-anchor="middle" fill="#555">${s / 1000}</text>`);
  }
  parts.push(`<text x="${L + pw / 2}" y="${H - 6}" text-anchor="middle" fill="#333">seconds since the ${opts.bands?.length ? 'cut' : 'kill'}</text>`);
  // partition cuts, shaded behind the bars
  for (const band of opts.bands ?? []) {
    const bx0 = x(Math.max(d.t0, band.from));
    const bx1 = x(Math.min(d.t1, band.to));
    if (bx1 > bx0) parts.push(`<rect class="partition" x="${bx0.toFixed(1)}" y="${T}" width="${(bx1 - bx0).toFixed(1)}" height="${ph}" fill="#ffcc80" fill-opacity="0.45"><title>network cut</title></rect>`);
  }
  // left axis: requests per bucket
  const { step: countStep } = countAxis(d.maxCount);
  for (let n = 0; n <= d.maxCount; n += countStep) {
    parts.push(`<text x="${L - 6}" y="${yc(n) + 4}" text-anchor="end" fill="#555">${n}</text>`);
  }
  parts.push(`<text transform="translate(12 ${T + ph / 2}) rotate(-90)" text-anchor="middle" fill="#333">requests / ${d.bucketMs} ms</text>`);
  // right axis: latency
  for (const frac of [0, 0.5, 1]) {
    const ms = d.latTop * frac;
    parts.push(`<text x="${L + pw + 6}" y="${yl(ms) + 4}" fill="#1565c0">${ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`}</text>`);
  }
  parts.push(`<text transform="translate(${W - 8} ${T + ph / 2}) rotate(90)" text-anchor="middle" fill="#1565c0">latency (p50, max)</text>`);
  // stacked bars
  for (const b of buckets) {
    const bx = x(b.t).toFixed(1);
    if (b.ok) parts.push(`<rect x="${bx}" y="${yc(b.ok).toFixed(1)}" width="${bw.toFixed(1)}" height="${(T + ph - yc(b.ok)).toFixed(1)}" fill="#81c784"/>`);
    if (b.failed) {
      const top = yc(b.ok + b.failed);
      parts.push(`<rect x="${bx}" y="${top.toFixed(1)}" width="${bw.toFixed(1)}" height="${(yc(b.ok) - top).toFixed(1)}" fill="#e53935"/>`);
    }
  }
  // latency lines
  const line = (pick: (b: Bucket) => number | null, color: string, dash = ''): void => {
    const pts = buckets.filter((b) => pick(b) !== null).map((b) => `${(x(b.t) + bw / 2).toFixed(1)},${yl(pick(b) as number).toFixed(1)}`);
    if (pts.length) parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="1.3" ${dash ? `stroke-dasharray="${dash}"` : ''}/>`);
  };
  line((b) => b.max, '#90caf9', '3 2');
  line((b) => b.p50, '#1565c0');
  // axes
  parts.push(`<line x1="${L}" y1="${T + ph}" x2="${L + pw}" y2="${T + ph}" stroke="#333"/>`);
  parts.push(`<line x1="${L}" y1="${T}" x2="${L}" y2="${T + ph}" stroke="#333"/>`);
  // markers: a dashed line from its label's row down through the plot, the label in its row
  for (const b of layoutMarkerLabels(markers, x)) {
    const mx = b.x.toFixed(1);
    const baseline = b.bottom - 3;
    parts.push(`<line class="marker-line" x1="${mx}" y1="${b.top + 2}" x2="${mx}" y2="${T + ph}" stroke="${b.marker.color}" stroke-width="1.2" stroke-dasharray="4 3"/>`);
    parts.push(`<text class="marker-label" x="${b.left.toFixed(1)}" y="${baseline}" fill="${b.marker.color}">${esc(b.text)}</text>`);
  }
  // legend, top right (above the label rows)
  parts.push(`<g transform="translate(${W - 300} 4)">` +
    `<rect x="4" y="5" width="10" height="9" fill="#81c784"/><text x="18" y="13">ok</text>` +
    `<rect x="44" y="5" width="10" height="9" fill="#e53935"/><text x="58" y="13">failed / hung</text>` +
    `<line x1="134" y1="10" x2="154" y2="10" stroke="#1565c0"/><text x="158" y="13">p50</text>` +
    `<line x1="190" y1="10" x2="210" y2="10" stroke="#90caf9" stroke-dasharray="3 2"/><text x="214" y="13">max latency</text></g>`);
  if (opts.bands?.length) parts.push(`<g transform="translate(${W - 400} 4)"><rect x="4" y="5" width="10" height="9" fill="#ffcc80"/><text x="18" y="13">cut</text></g>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/** The figures of one trial as report and CLI rows: key, human label, formatted value. */
export const FIGURE_ROWS: [keyof Figures, string, (f: Figures) => string][] = [
  ['detectionMs', FIGURE_LABEL.detectionMs, (f) => fmtMs(f.detectionMs)],
  ['odownMs', FIGURE_LABEL.odownMs, (f) => fmtMs(f.odownMs)],
  ['switchMs', FIGURE_LABEL.switchMs, (f) => fmtMs(f.switchMs)],
  ['failovers', FIGURE_LABEL.failovers, (f) => String(f.failovers)],
  ['firstWriteOkMs', FIGURE_LABEL.firstWriteOkMs, (f) => fmtMs(f.firstWriteOkMs)],
  ['writeRecoveryMs', FIGURE_LABEL.writeRecoveryMs, (f) => fmtMs(f.writeRecoveryMs)],
  ['firstReadOkMs', FIGURE_LABEL.firstReadOkMs, (f) => fmtMs(f.firstReadOkMs)],
  ['readRecoveryMs', FIGURE_LABEL.readRecoveryMs, (f) => fmtMs(f.readRecoveryMs)],
  ['failedRequests', 'failed requests (logins / reads)', (f) => `${f.failedRequests} (${f.failedLogins} / ${f.failedReads})`],
  ['failureWindow', FIGURE_LABEL.failureWindow, (f) => (f.failureWindow ? `${fmtMs(f.failureWindow.fromMs)} → ${fmtMs(f.failureWindow.toMs)}` : 'none')],
  ['hungRequests', FIGURE_LABEL.hungRequests, (f) => String(f.hungRequests)],
  ['ackedSessionsLost', FIGURE_LABEL.ackedSessionsLost, (f) => `${f.ackedSessionsLost} of ${f.ackedSessions}`],
  ['revocationsUndone', FIGURE_LABEL.revocationsUndone, (f) => `${f.revocationsUndone} of ${f.revocations}`],
  ['totalRequests', 'requests (success rate)', (f) => `${f.totalRequests} (${(f.successRate * 100).toFixed(2)} %)`],
  ['latencyP99Ms', 'latency p50 / p99 / max', (f) => `${f.latencyP50Ms ?? '-'} / ${f.latencyP99Ms ?? '-'} / ${f.latencyMaxMs ?? '-'} ms`],
  ['rollbackMs', FIGURE_LABEL.rollbackMs, (f) => fmtMs(f.rollbackMs)],
  ['passwordChangesUndone', FIGURE_LABEL.passwordChangesUndone, (f) => (f.passwordChanges === null ? 'n/a' : `${f.passwordChangesUndone} of ${f.passwordChanges}`)],
];

/** The partition figures (shown only for partitions). */
export const PARTITION_ROWS: [keyof Figures, string, (f: Figures) => string][] = [
  ['partitionMs', FIGURE_LABEL.partitionMs, (f) => fmtMs(f.partitionMs)],
  ['minorityWritesLost', 'writes acked by minority-side apps while cut: lost / acked', (f) => `${f.minorityWritesLost ?? 'n/a'} / ${f.minorityWritesAccepted ?? 'n/a'}`],
  ['minorityAcceptMs', FIGURE_LABEL.minorityAcceptMs, (f) => fmtMs(f.minorityAcceptMs)],
  ['minorityRefusedSessions', FIGURE_LABEL.minorityRefusedSessions, (f) => String(f.minorityRefusedSessions ?? 'n/a')],
  ['rawWritesLost', 'raw SETs on the old primary while cut: lost / accepted', (f) => `${f.rawWritesLost ?? 'n/a'} / ${f.rawWritesAccepted ?? 'n/a'}`],
  ['rawAcceptMs', FIGURE_LABEL.rawAcceptMs, (f) => fmtMs(f.rawAcceptMs)],
  ['majorityWriteRecoveryMs', FIGURE_LABEL.majorityWriteRecoveryMs, (f) => fmtMs(f.majorityWriteRecoveryMs)],
  ['minorityLatencyMaxMs', FIGURE_LABEL.minorityLatencyMaxMs, (f) => fmtMs(f.minorityLatencyMaxMs)],
  ['minorityRecoveryMs', FIGURE_LABEL.minorityRecoveryMs, (f) => fmtMs(f.minorityRecoveryMs)],
];

/** A figure of the aggregate (median / worst over trials) formatted for people. */
export const fmtFigure = (figure: keyof Figures, v: number | null): string => (isDurationFigure(figure) ? fmtMs(v) : v === null ? 'n/a' : String(v));

const STYLE = `body{font-family:system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}.pass{color:#2e7d32;font-weight:600}.fail{color:#c62828;font-weight:600}
.muted{color:#666;font-size:12px}figure.chart{margin:16px 0 24px}figcaption{font-weight:600;font-size:15px;margin-bottom:4px}h1{font-size:22px}h2{font-size:18px;margin-top:28px}code{background:#f3f3f3;padding:1px 4px}`;

const verdictSpan = (v: boolean | 'pass' | 'fail'): string => {
  const ok = v === true || v === 'pass';
  return `<span class="${ok ? 'pass' : 'fail'}">${ok ? 'PASS' : 'FAIL'}</span>`;
};

function hypothesisTable(r: RunRecord): string {
  const rows = (h: RunRecord['hypothesisBefore'] | null, label: string): string =>
    h ? h.probes.map((p) => `<tr><td>${label}</td><td>${esc(p.name)}</td><td>${esc(p.tolerance)}</td><td>${esc(p.value)}</td><td>${verdictSpan(p.pass)}</td></tr>`).join('') : `<tr><td>${label}</td><td colspan="4">not run</td></tr>`;
  return `<table><tr><th>when</th><th>probe</th><th>tolerance</th><th>value</th><th></th></tr>${rows(r.hypothesisBefore, 'before')}${rows(r.hypothesisAfter, 'after')}</table>`;
}

/** The one domain for every trial chart of these runs, so they share their axes. */
export const runsDomain = (records: RunRecord[]): ChartDomain => chartDomain(records.flatMap((r) => r.trials).map((t) => ({ buckets: t.buckets, markers: trialMarkers(t) })));

export function trialSection(r: RunRecord, t: TrialRecord, domain: ChartDomain = runsDomain([r])): string {
  const rows = t.fault.partition ? [...FIGURE_ROWS, ...PARTITION_ROWS] : FIGURE_ROWS;
  const figs = rows.map(([, label, fmt]) => `<tr><td>${esc(label)}</td><td>${esc(fmt(t.figures))}</td></tr>`).join('');
  const checks = t.checks.map((c) => `<tr><td>${esc(c.name)}</td><td>${esc(c.expected)}</td><td>${esc(c.actual)}</td><td>${verdictSpan(c.pass)}</td></tr>`).join('');
  const events = t.events
    .filter((e) => !e.channel.startsWith('__'))
    .map((e) => `<tr><td>${fmtMs(e.at - t.fault.at)}</td><td>${esc(e.source)}</td><td>${esc(e.channel)}</td><td>${esc(e.message)}</td></tr>`)
    .join('');
  return `<h2>Trial ${t.index}: ${verdictSpan(t.pass)} <span class="muted">${esc(t.fault.target)}${t.fault.detail ? ` — ${esc(t.fault.detail)}` : ''}</span></h2>
${timelineSvg(t.buckets, trialMarkers(t), { domain, bands: trialBands(t), title: `${r.experiment} on ${r.platform}/${r.topology}: successes/failures per 100 ms, latency${t.fault.partition ? ', network cut shaded' : ''}` })}
<table><tr><th>figure</th><th>value</th></tr>${figs}</table>
<table><tr><th>expectation</th><th>expected</th><th>actual</th><th></th></tr>${checks}</table>
<details><summary>Sentinel events (${t.events.length})</summary><table><tr><th>t</th><th>sentinel</th><th>channel</th><th>message</th></tr>${events}</table></details>`;
}

function aggregateTable(r: RunRecord): string {
  if (r.trials.length < 2) return '';
  const rows = r.aggregate
    .map((a) => {
      const f = (v: number | null): string => fmtFigure(a.figure, v);
      return `<tr><td>${esc(FIGURE_LABEL[a.figure])}</td><td>${f(a.median)}</td><td>${f(a.worst)}</td><td class="muted">${a.values.map((v) => f(v)).join(', ')}</td></tr>`;
    })
    .join('');
  return `<h2>Across ${r.trials.length} trials</h2><table><tr><th>figure</th><th>median</th><th>worst</th><th>per trial</th></tr>${rows}</table>`;
}

export function renderRunHtml(r: RunRecord): string {
  // Every trial's chart on one scale, so the trials of a --trials run compare at a glance too.
  const domain = runsDomain([r]);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(r.experiment)} on ${esc(r.topology)}</title><style>${STYLE}</style></head><body>
<h1>${esc(r.title)} — ${esc(r.platform)} / ${esc(r.topology)}: ${verdictSpan(r.verdict)}</h1>
<p>${esc(r.description)}</p>
<p class="muted">started ${esc(r.startedAt)}, took ${(r.durationMs / 1000).toFixed(1)} s; ${esc(JSON.stringify({ ...r.config, platform: undefined }))}</p>
${r.verdictReasons.length ? `<p class="fail">${r.verdictReasons.map(esc).join('<br>')}</p>` : ''}
<h2>Steady-state hypothesis</h2>${hypothesisTable(r)}
${alertsSection(r)}
${aggregateTable(r)}
${r.trials.map((t) => trialSection(r, t, domain)).join('\n')}
</body></html>`;
}

/** The chart's alerts as a local Prometheus evaluated them during the run. */
export function alertsSection(r: RunRecord): string {
  if (!r.alerts) return '';
  const rows = alertTimes(r)
    .map((a) => `<tr><td>${esc(a.alert)}</td><td>${esc(a.severity)}</td><td class="${a.state === 'firing' ? 'fail' : 'muted'}">${esc(a.state)}</td><td>${esc(a.pending)}</td><td>${esc(a.firing)}</td></tr>`)
    .join('');
  return `<h2>Alerts</h2><p class="muted">The chart's PrometheusRule content, evaluated every second by a local Prometheus scraping every app replica; times from the first fault. Rules with a <code>for:</code> longer than the outage stay pending.</p>
<table><tr><th>alert</th><th>severity</th><th>reached</th><th>first pending</th><th>first firing</th></tr>${rows || '<tr><td colspan="5">none went pending</td></tr>'}</table>`;
}

function alertCell(r: RunRecord): string {
  if (!r.alerts) return 'not watched';
  const list = alertTimes(r).map((a) => `${a.alert}: ${a.state === 'firing' ? `firing ${a.firing}` : `pending ${a.pending}`}`);
  return list.length ? list.map(esc).join('<br>') : 'none';
}

/** Side-by-side comparison of runs (the demo: standalone vs sentinel). */
export function renderIndexHtml(runs: { record: RunRecord; href: string }[], opts: { title?: string; note?: string } = {}): string {
  const head = runs.map(({ record: r, href }) => `<th><a href="${esc(href)}">${esc(r.experiment)} / ${esc(r.topology)}</a><br>${verdictSpan(r.verdict)}</th>`).join('');
  const first = (r: RunRecord): Figures | undefined => r.trials[0]?.figures;
  const rows = FIGURE_ROWS.map(([, label, fmt]) => `<tr><td>${esc(label)}</td>${runs.map(({ record }) => `<td>${first(record) ? esc(fmt(first(record) as Figures)) : 'n/a'}</td>`).join('')}</tr>`).join('');
  const alerts = runs.some(({ record }) => record.alerts) ? `<tr><td>alerts (chart rules)</td>${runs.map(({ record }) => `<td>${alertCell(record)}</td>`).join('')}</tr>` : '';
  // Only when a run failed, and only that run's reasons: a passing run has nothing to explain.
  const reasons = runs.some(({ record }) => record.verdict === 'fail' || record.verdictReasons.length)
    ? `<tr><td>why it failed</td>${runs.map(({ record }) => `<td class="muted">${record.verdictReasons.map(esc).join('<br>')}</td>`).join('')}</tr>`
    : '';
  // The charts show each run's first trial, all on one time, request and latency scale, one
  // below the other at the full width so the same second lines up in every chart.
  const shown = runs.map(({ record }) => record.trials[0]).filter((t): t is TrialRecord => t !== undefined);
  const domain = chartDomain(shown.map((t) => ({ buckets: t.buckets, markers: trialMarkers(t) })));
  const charts = runs
    .map(({ record: r }) => {
      const t = r.trials[0];
      return `<figure class="chart"><figcaption>${esc(r.topology)}: ${esc(r.title)}</figcaption>${t ? timelineSvg(t.buckets, trialMarkers(t), { domain, bands: trialBands(t) }) : 'no trial'}</figure>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(opts.title ?? 'chaos comparison')}</title><style>${STYLE}</style></head><body>
<h1>${esc(opts.title ?? 'Chaos experiments compared')}</h1>
${opts.note ? `<p>${esc(opts.note)}</p>` : ''}
<table><tr><th>figure</th>${head}</tr>${rows}${alerts}${reasons}</table>
<p class="muted">Both charts share one time axis, one request axis and one latency axis.</p>
${charts}
</body></html>`;
}
