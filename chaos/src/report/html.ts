/**
 * Self-contained HTML reports: no scripts, no network, the timeline is inline SVG drawn here.
 */
import { fmtMs, type Bucket, type Figures } from '../figures.js';
import type { RunRecord, TrialRecord } from '../experiments/runner.js';
import { alertTimes } from '../alerts.js';

export const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

export interface Marker {
  t: number;
  label: string;
  color: string;
}

/** Markers relative to the kill: kill, sdown, odown, switch-master, rollback, first write/read ok. */
export function trialMarkers(trial: TrialRecord): Marker[] {
  const f = trial.figures;
  const m: Marker[] = [{ t: 0, label: `kill ${trial.fault.target.split(' ')[0]}`, color: '#000' }];
  if (f.detectionMs !== null) m.push({ t: f.detectionMs, label: '+sdown', color: '#7b1fa2' });
  if (f.odownMs !== null) m.push({ t: f.odownMs, label: '+odown', color: '#6a1b9a' });
  if (f.switchMs !== null) m.push({ t: f.switchMs, label: '+switch-master', color: '#1565c0' });
  if (f.rollbackMs !== null) m.push({ t: f.rollbackMs, label: 'rollback (restart)', color: '#ef6c00' });
  if (f.firstWriteOkMs) m.push({ t: f.firstWriteOkMs, label: 'first write ok', color: '#2e7d32' });
  if (f.writeRecoveryMs && f.writeRecoveryMs !== f.firstWriteOkMs) m.push({ t: f.writeRecoveryMs, label: 'writes stable', color: '#1b5e20' });
  if (f.firstReadOkMs) m.push({ t: f.firstReadOkMs, label: 'first read ok', color: '#00838f' });
  if (f.readRecoveryMs && f.readRecoveryMs !== f.firstReadOkMs) m.push({ t: f.readRecoveryMs, label: 'reads stable', color: '#006064' });
  return m;
}

export function timelineSvg(buckets: Bucket[], markers: Marker[], opts: { width?: number; height?: number; title?: string } = {}): string {
  const W = opts.width ?? 1100;
  const H = opts.height ?? 330;
  const L = 52;
  const R = 58;
  const T = 100;
  const B = 42;
  const pw = W - L - R;
  const ph = H - T - B;
  if (buckets.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="60"><text x="10" y="30">no samples</text></svg>`;
  const bucketMs = buckets.length > 1 ? (buckets[1] as Bucket).t - (buckets[0] as Bucket).t : 100;
  const t0 = Math.min((buckets[0] as Bucket).t, ...markers.map((m) => m.t));
  const t1 = Math.max((buckets[buckets.length - 1] as Bucket).t + bucketMs, ...markers.map((m) => m.t + bucketMs));
  const x = (t: number): number => L + ((t - t0) / (t1 - t0)) * pw;
  const maxCount = Math.max(1, ...buckets.map((b) => b.ok + b.failed));
  const yc = (n: number): number => T + ph - (n / maxCount) * ph;
  const maxLat = Math.max(100, ...buckets.map((b) => b.max ?? 0));
  const latTop = maxLat <= 500 ? 500 : maxLat <= 1000 ? 1000 : maxLat <= 3000 ? 3000 : Math.ceil(maxLat / 1000) * 1000;
  const yl = (ms: number): number => T + ph - (Math.min(ms, latTop) / latTop) * ph;
  const bw = Math.max(1, (bucketMs / (t1 - t0)) * pw - 0.5);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif" font-size="11">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  if (opts.title) parts.push(`<text x="${L}" y="14" font-size="13" font-weight="600">${esc(opts.title)}</text>`);
  // grid + x ticks every second
  for (let s = Math.ceil(t0 / 1000) * 1000; s <= t1; s += 1000) {
    parts.push(`<line x1="${x(s).toFixed(1)}" y1="${T}" x2="${x(s).toFixed(1)}" y2="${T + ph}" stroke="#eee"/>`);
    parts.push(`<text x="${x(s).toFixed(1)}" y="${T + ph + 14}" text-anchor="middle" fill="#555">${s / 1000}</text>`);
  }
  parts.push(`<text x="${L + pw / 2}" y="${H - 6}" text-anchor="middle" fill="#333">seconds since the kill</text>`);
  // left axis: requests per bucket
  for (const frac of [0, 0.5, 1]) {
    const n = Math.round(maxCount * frac);
    parts.push(`<text x="${L - 6}" y="${yc(n) + 4}" text-anchor="end" fill="#555">${n}</text>`);
  }
  parts.push(`<text transform="translate(12 ${T + ph / 2}) rotate(-90)" text-anchor="middle" fill="#333">requests / ${bucketMs} ms</text>`);
  // right axis: latency
  for (const frac of [0, 0.5, 1]) {
    const ms = latTop * frac;
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
  // markers: each label goes to the first row where it does not overlap the previous label there
  const ROWS = 6;
  const rowEnds: number[] = Array.from({ length: ROWS }, () => Number.NEGATIVE_INFINITY);
  for (const m of [...markers].sort((a, b) => a.t - b.t)) {
    const text = `${m.label} (${(m.t / 1000).toFixed(2)}s)`;
    const w = text.length * 5.8;
    const mxn = x(m.t);
    const anchorEnd = mxn + w > W - 4;
    const left = anchorEnd ? mxn - w : mxn;
    let row = rowEnds.findIndex((end) => end + 6 <= left);
    if (row < 0) row = rowEnds.indexOf(Math.min(...rowEnds));
    rowEnds[row] = left + w;
    const ly = 30 + row * 11;
    const mx = mxn.toFixed(1);
    parts.push(`<line x1="${mx}" y1="${ly + 2}" x2="${mx}" y2="${T + ph}" stroke="${m.color}" stroke-width="1.2" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${mx}" y="${ly}" fill="${m.color}" text-anchor="${anchorEnd ? 'end' : 'start'}">${esc(text)}</text>`);
  }
  // legend, top right (outside the plot)
  parts.push(`<g transform="translate(${W - 300} 4)">` +
    `<rect x="4" y="5" width="10" height="9" fill="#81c784"/><text x="18" y="13">ok</text>` +
    `<rect x="44" y="5" width="10" height="9" fill="#e53935"/><text x="58" y="13">failed / hung</text>` +
    `<line x1="134" y1="10" x2="154" y2="10" stroke="#1565c0"/><text x="158" y="13">p50</text>` +
    `<line x1="190" y1="10" x2="210" y2="10" stroke="#90caf9" stroke-dasharray="3 2"/><text x="214" y="13">max latency</text></g>`);
  parts.push('</svg>');
  return parts.join('\n');
}

export const FIGURE_ROWS: [keyof Figures, string, (f: Figures) => string][] = [
  ['detectionMs', 'failure detection (kill -> +sdown)', (f) => fmtMs(f.detectionMs)],
  ['odownMs', 'kill -> +odown', (f) => fmtMs(f.odownMs)],
  ['switchMs', 'Sentinel switch (kill -> +switch-master)', (f) => fmtMs(f.switchMs)],
  ['failovers', 'failovers (distinct +switch-master)', (f) => String(f.failovers)],
  ['firstWriteOkMs', 'first ok login after a failure', (f) => fmtMs(f.firstWriteOkMs)],
  ['writeRecoveryMs', 'write recovery (ok login after the last failure)', (f) => fmtMs(f.writeRecoveryMs)],
  ['firstReadOkMs', 'first ok /auth/me after a failure', (f) => fmtMs(f.firstReadOkMs)],
  ['readRecoveryMs', 'read recovery (ok /auth/me after the last failure)', (f) => fmtMs(f.readRecoveryMs)],
  ['failedRequests', 'failed requests (logins / reads)', (f) => `${f.failedRequests} (${f.failedLogins} / ${f.failedReads})`],
  ['failureWindow', 'failure window (first -> last failure)', (f) => (f.failureWindow ? `${fmtMs(f.failureWindow.fromMs)} -> ${fmtMs(f.failureWindow.toMs)}` : 'none')],
  ['hungRequests', 'hung requests (> 3 s)', (f) => String(f.hungRequests)],
  ['ackedSessionsLost', 'acked sessions lost', (f) => `${f.ackedSessionsLost} of ${f.ackedSessions}`],
  ['revocationsUndone', 'acked revocations undone', (f) => `${f.revocationsUndone} of ${f.revocations}`],
  ['totalRequests', 'requests (success rate)', (f) => `${f.totalRequests} (${(f.successRate * 100).toFixed(2)} %)`],
  ['latencyP99Ms', 'latency p50 / p99 / max', (f) => `${f.latencyP50Ms ?? '-'} / ${f.latencyP99Ms ?? '-'} / ${f.latencyMaxMs ?? '-'} ms`],
  ['rollbackMs', 'rollback (restart) at', (f) => fmtMs(f.rollbackMs)],
];

const STYLE = `body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}.pass{color:#2e7d32;font-weight:600}.fail{color:#c62828;font-weight:600}
.muted{color:#666;font-size:12px}h1{font-size:22px}h2{font-size:18px;margin-top:28px}code{background:#f3f3f3;padding:1px 4px}`;

const verdictSpan = (v: boolean | 'pass' | 'fail'): string => {
  const ok = v === true || v === 'pass';
  return `<span class="${ok ? 'pass' : 'fail'}">${ok ? 'PASS' : 'FAIL'}</span>`;
};

function hypothesisTable(r: RunRecord): string {
  const rows = (h: RunRecord['hypothesisBefore'] | null, label: string): string =>
    h ? h.probes.map((p) => `<tr><td>${label}</td><td>${esc(p.name)}</td><td>${esc(p.tolerance)}</td><td>${esc(p.value)}</td><td>${verdictSpan(p.pass)}</td></tr>`).join('') : `<tr><td>${label}</td><td colspan="4">not run</td></tr>`;
  return `<table><tr><th>when</th><th>probe</th><th>tolerance</th><th>value</th><th></th></tr>${rows(r.hypothesisBefore, 'before')}${rows(r.hypothesisAfter, 'after')}</table>`;
}

export function trialSection(r: RunRecord, t: TrialRecord, width = 1100): string {
  const figs = FIGURE_ROWS.map(([, label, fmt]) => `<tr><td>${esc(label)}</td><td>${esc(fmt(t.figures))}</td></tr>`).join('');
  const checks = t.checks.map((c) => `<tr><td>${esc(c.name)}</td><td>${esc(c.expected)}</td><td>${esc(c.actual)}</td><td>${verdictSpan(c.pass)}</td></tr>`).join('');
  const events = t.events
    .filter((e) => !e.channel.startsWith('__'))
    .map((e) => `<tr><td>${fmtMs(e.at - t.fault.at)}</td><td>${esc(e.source)}</td><td>${esc(e.channel)}</td><td>${esc(e.message)}</td></tr>`)
    .join('');
  return `<h2>Trial ${t.index}: ${verdictSpan(t.pass)} <span class="muted">${esc(t.fault.target)}${t.fault.detail ? ` — ${esc(t.fault.detail)}` : ''}</span></h2>
${timelineSvg(t.buckets, trialMarkers(t), { width, title: `${r.experiment} on ${r.topology}: successes/failures per 100 ms, latency` })}
<table><tr><th>figure</th><th>value</th></tr>${figs}</table>
<table><tr><th>expectation</th><th>expected</th><th>actual</th><th></th></tr>${checks}</table>
<details><summary>Sentinel events (${t.events.length})</summary><table><tr><th>t</th><th>sentinel</th><th>channel</th><th>message</th></tr>${events}</table></details>`;
}

function aggregateTable(r: RunRecord): string {
  if (r.trials.length < 2) return '';
  const rows = r.aggregate
    .map((a) => {
      const isMs = String(a.figure).endsWith('Ms');
      const f = (v: number | null): string => (isMs ? fmtMs(v) : v === null ? 'n/a' : String(v));
      return `<tr><td>${esc(a.figure)}</td><td>${f(a.median)}</td><td>${f(a.worst)}</td><td class="muted">${a.values.map((v) => f(v)).join(', ')}</td></tr>`;
    })
    .join('');
  return `<h2>Across ${r.trials.length} trials</h2><table><tr><th>figure</th><th>median</th><th>worst</th><th>per trial</th></tr>${rows}</table>`;
}

export function renderRunHtml(r: RunRecord): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(r.experiment)} on ${esc(r.topology)}</title><style>${STYLE}</style></head><body>
<h1>${esc(r.title)} — ${esc(r.platform)} / ${esc(r.topology)}: ${verdictSpan(r.verdict)}</h1>
<p>${esc(r.description)}</p>
<p class="muted">started ${esc(r.startedAt)}, took ${(r.durationMs / 1000).toFixed(1)} s; ${esc(JSON.stringify({ ...r.config, platform: undefined }))}</p>
${r.verdictReasons.length ? `<p class="fail">${r.verdictReasons.map(esc).join('<br>')}</p>` : ''}
<h2>Steady-state hypothesis</h2>${hypothesisTable(r)}
${alertsSection(r)}
${aggregateTable(r)}
${r.trials.map((t) => trialSection(r, t)).join('\n')}
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
  const reasons = `<tr><td>why it failed</td>${runs.map(({ record }) => `<td class="muted">${record.verdictReasons.map(esc).join('<br>') || '-'}</td>`).join('')}</tr>`;
  const width = runs.length > 1 ? 580 : 1100;
  const charts = runs
    .map(({ record: r }) => {
      const t = r.trials[0];
      return `<div style="flex:1;min-width:${width}px"><h3>${esc(r.topology)}: ${esc(r.title)}</h3>${t ? timelineSvg(t.buckets, trialMarkers(t), { width, height: 340 }) : 'no trial'}</div>`;
    })
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(opts.title ?? 'chaos comparison')}</title><style>${STYLE} body{max-width:1280px}</style></head><body>
<h1>${esc(opts.title ?? 'Chaos experiments compared')}</h1>
${opts.note ? `<p>${esc(opts.note)}</p>` : ''}
<table><tr><th>figure</th>${head}</tr>${rows}${alerts}${reasons}</table>
<div style="display:flex;gap:16px;flex-wrap:wrap">${charts}</div>
</body></html>`;
}
