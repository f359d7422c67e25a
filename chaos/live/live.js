// The chaos runner's live view: reads the run's Server-Sent Events (GET /events) and redraws
// the request timeline as it fills in. DOM and SVG built with createElement(NS) and textContent
// only; the page's CSP allows this one script and nothing inline.

const SVG = 'http://www.w3.org/2000/svg';
const BUCKET_MS = 250;
const W = 1100;
const PLOT_H = 180;
const M = { left: 48, right: 16, bottom: 30 };
const ROW = 13;
/** Sentinel events worth a line: the failure seen, agreed, and the new primary announced. */
const SENTINEL = new Set(['+sdown', '+odown', '+switch-master']);

const $ = (id) => document.getElementById(id);
const runs = new Map();
let scheduled = false;

function el(name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function html(name, attrs = {}, text) {
  const e = document.createElement(name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function announce(text) {
  $('announce').textContent = text;
}

function newRun(info) {
  const section = html('section', { class: 'run', 'aria-labelledby': `run-${info.id}-title` });
  const title = html('h2', { id: `run-${info.id}-title` }, `${info.title} · ${info.topology} `);
  const verdict = html('span', { class: 'verdict' }, 'running');
  title.append(verdict);
  const meta = html('p', { class: 'meta' }, `${info.experiment} on ${info.platform}, started ${new Date(info.startedAt).toLocaleTimeString()}`);
  const stats = html('p', { class: 'stats' });
  const svg = el('svg', { viewBox: `0 0 ${W} ${PLOT_H + 80}`, role: 'img', 'aria-label': 'Request timeline: no requests yet' });
  const reasons = html('ul', { class: 'reasons' });
  section.append(title, meta, stats, svg, reasons);
  $('runs').prepend(section);
  const run = { info, buckets: new Map(), marks: [], sentinel: [], total: 0, failed: 0, hung: 0, lastT: 0, recent: [], section, verdict, stats, svg, reasons };
  runs.set(info.id, run);
  return run;
}

function addSamples(run, rows) {
  for (const [t0, latency, status, ok] of rows) {
    const i = Math.floor(t0 / BUCKET_MS);
    const b = run.buckets.get(i) ?? { ok: 0, fail: 0, hung: 0 };
    if (status === -1) {
      b.hung += 1;
      run.hung += 1;
    } else if (ok) {
      b.ok += 1;
    } else {
      b.fail += 1;
      run.failed += 1;
    }
    run.buckets.set(i, b);
    run.total += 1;
    run.lastT = Math.max(run.lastT, t0 + latency);
    run.recent.push([t0 + latency, ok]);
  }
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    for (const run of runs.values()) render(run);
  });
}

const markerText = (m) => `${m.label} ${(m.at / 1000).toFixed(1)}s`;

/** Width of a label in the 11px font, a little generous so neighbours never touch. */
const textWidth = (t) => t.length * 6.6;

/**
 * Marker labels in rows above the plot (the rules of the static report's layout): in time order,
 * each goes into the first row where it overlaps no label of that row, sits over no line of a
 * marker labelled in a row above, and its own line crosses no label in a row below. A label that
 * would run off the right edge never happens: render() widens the time range until all fit. Every
 * label starts right of its own line, so the lines of earlier markers lie left of it and a new
 * row below the others always fits: the loop ends (the cap is a second guard).
 */
function placeLabels(markers, x) {
  const placed = [];
  for (const m of markers) {
    const text = markerText(m);
    const at = x(m.at);
    const left = at + 3;
    const right = left + textWidth(text);
    const fits = (row) =>
      placed.every((p) => {
        if (p.row === row) return right + 6 <= p.left || p.right + 6 <= left;
        if (p.row < row) return p.x < left - 1 || p.x > right + 1;
        return at < p.left - 1 || at > p.right + 1;
      });
    let row = 0;
    while (!fits(row) && row < markers.length) row += 1;
    placed.push({ ...m, text, x: at, left, right, row });
  }
  return placed;
}

/**
 * The first of each Sentinel event after each fault, as the report's figures count them (three
 * Sentinels each say +sdown; a restarted node brings more): detection, agreement, new primary.
 */
function sentinelMarkers(run) {
  const faults = run.marks.filter((m) => m.kind === 'fault').map((m) => m.at).sort((a, b) => a - b);
  const out = [];
  faults.forEach((from, i) => {
    const until = faults[i + 1] ?? Infinity;
    for (const channel of SENTINEL) {
      const first = run.sentinel.filter((e) => e.channel === channel && e.at >= from && e.at < until).sort((a, b) => a.at - b.at)[0];
      if (first) out.push(first);
    }
  });
  return out;
}

function render(run) {
  const svg = run.svg;
  const markers = [
    ...run.marks.map((m) => ({ at: m.at, label: m.label, cls: m.kind === 'fault' ? 'fault' : m.kind === 'rollback' ? 'rollback' : 'trial' })),
    ...sentinelMarkers(run).map((e) => ({ at: e.at, label: e.channel, cls: 'sentinel' })),
  ].sort((a, b) => a.at - b.at);
  const plotW = W - M.left - M.right;
  // Wide enough that every label, set right of its line, ends inside the picture.
  const t1 = Math.max(
    10_000,
    run.lastT + 1000,
    ...markers.map((m) => m.at + 1000),
    ...markers.map((m) => (m.at * plotW) / Math.max(1, W - 5 - textWidth(markerText(m)) - M.left)),
  );
  const plotH = PLOT_H;
  const x = (t) => M.left + (t / t1) * plotW;
  // Room above the plot for as many label rows as the markers need.
  const labels = placeLabels(markers, x);
  const rows = Math.max(2, ...labels.map((m) => m.row + 1));
  const top = 10 + rows * ROW + 6;
  const H = top + plotH + M.bottom;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  let max = 1;
  for (const b of run.buckets.values()) max = Math.max(max, b.ok + b.fail + b.hung);
  const y = (n) => top + plotH - (n / max) * plotH;

  const nodes = [];
  for (let s = 0; s * 1000 <= t1; s += t1 > 60_000 ? 10 : t1 > 20_000 ? 5 : 1) {
    nodes.push(el('line', { class: 'grid', x1: x(s * 1000), x2: x(s * 1000), y1: top, y2: top + plotH }));
    nodes.push(el('text', { x: x(s * 1000), y: H - 10, 'text-anchor': 'middle' }, `${s}s`));
  }
  nodes.push(el('text', { x: 4, y: top + 8 }, String(max)));
  nodes.push(el('text', { x: 4, y: top + plotH }, '0'));
  const bw = Math.max(1, (BUCKET_MS / t1) * plotW - 0.5);
  for (const [i, b] of run.buckets) {
    const bx = x(i * BUCKET_MS);
    let base = 0;
    for (const [cls, n] of [['ok', b.ok], ['fail', b.fail], ['hung', b.hung]]) {
      if (!n) continue;
      nodes.push(el('rect', { class: cls, x: bx, width: bw, y: y(base + n), height: y(base) - y(base + n) }));
      base += n;
    }
  }
  nodes.push(el('line', { class: 'axis', x1: M.left, x2: W - M.right, y1: top + plotH, y2: top + plotH }));
  for (const m of labels) {
    const g = el('g', { class: `marker ${m.cls}` });
    const rowTop = 10 + m.row * ROW;
    g.append(el('line', { x1: x(m.at), x2: x(m.at), y1: rowTop, y2: top + plotH }));
    g.append(el('text', { x: m.left, y: rowTop + 10 }, m.text));
    nodes.push(g);
  }
  svg.replaceChildren(...nodes);

  const now = run.lastT;
  run.recent = run.recent.filter(([t]) => t > now - 1000);
  const recentOk = run.recent.filter(([, ok]) => ok).length;
  const fault = run.marks.find((m) => m.kind === 'fault');
  run.stats.replaceChildren(
    html('span', {}, `${run.total} requests`),
    html('span', {}, `${run.failed} failed`),
    html('span', {}, `${run.hung} hung`),
    html('span', {}, run.recent.length ? `last second: ${Math.round((recentOk / run.recent.length) * 100)} % ok` : 'last second: no requests'),
    html('span', {}, fault ? `fault at ${(fault.at / 1000).toFixed(2)} s: ${fault.label}` : 'no fault yet'),
  );
  svg.setAttribute('aria-label', `Request timeline: ${run.total} requests, ${run.failed} failed, ${run.hung} hung${fault ? `; ${fault.label} at ${(fault.at / 1000).toFixed(1)} s` : ''}`);
}

function connect() {
  const source = new EventSource('/events');
  source.addEventListener('open', () => {
    $('connection').textContent = 'Live: receiving the run as it happens';
    $('connection').className = 'connection live';
  });
  source.addEventListener('error', () => {
    $('connection').textContent = 'Disconnected (the run may have ended); retrying…';
    $('connection').className = 'connection';
  });
  source.addEventListener('run', (e) => {
    const info = JSON.parse(e.data);
    // A reconnect replays everything: start the run's picture again from nothing.
    runs.get(info.id)?.section.remove();
    newRun(info);
    announce(`Run started: ${info.title} on ${info.topology}.`);
    schedule();
  });
  source.addEventListener('samples', (e) => {
    const d = JSON.parse(e.data);
    const run = runs.get(d.run);
    if (!run) return;
    addSamples(run, d.rows);
    schedule();
  });
  source.addEventListener('timeline', (e) => {
    const d = JSON.parse(e.data);
    const run = runs.get(d.run);
    if (!run) return;
    // Kept whole: which ones get a line is decided when drawing (see sentinelMarkers), since
    // the fault's mark can arrive after the first events that follow it.
    for (const [at, sourceName, channel] of d.rows) if (SENTINEL.has(channel)) run.sentinel.push({ at, source: sourceName, channel });
    schedule();
  });
  source.addEventListener('mark', (e) => {
    const m = JSON.parse(e.data);
    const run = runs.get(m.run);
    if (!run) return;
    run.marks.push(m);
    if (m.kind === 'fault') announce(`Fault injected: ${m.label}.`);
    schedule();
  });
  source.addEventListener('done', (e) => {
    const d = JSON.parse(e.data);
    const run = runs.get(d.run);
    if (!run) return;
    run.verdict.textContent = d.verdict.toUpperCase();
    run.verdict.className = `verdict ${d.verdict}`;
    run.reasons.replaceChildren(...d.reasons.map((r) => html('li', {}, r)));
    announce(`Run finished: ${d.verdict}.`);
    schedule();
  });
}

connect();
