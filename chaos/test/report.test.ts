/**
 * The HTML report from made-up runs (no processes): shared chart axes, marker labels that never
 * overlap, no "why it failed" on a passing run, responsive full-width charts, human figure labels.
 */
import { describe, expect, it } from 'vitest';
import { CHART, chartDomain, layoutMarkerLabels, renderIndexHtml, renderRunHtml, timelineSvg, trialMarkers, type LabelBox, type Marker } from '../src/report/html.js';
import { textWidth } from '../src/report/labels.js';
import { buckets, run, sentinel, standalone, trial } from './report-fixtures.js';

const svgs = (html: string): string[] => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];

/** Everything that makes an axis: viewBox, tick and axis texts with their positions (not the data, not the markers). */
function axes(svg: string): string[] {
  const viewBox = svg.match(/viewBox="[^"]*"/)?.[0] ?? '';
  const texts = [...svg.matchAll(/<text(?![^>]*marker-label)[^>]*>[^<]*<\/text>/g)].map((m) => m[0]);
  return [viewBox, ...texts];
}

/** Marker label boxes and marker lines as drawn in an SVG (text width by the same estimate the layout uses). */
function drawnLabels(svg: string): { boxes: { text: string; left: number; right: number; top: number; bottom: number }[]; lines: { x: number; y1: number; y2: number }[] } {
  const boxes = [...svg.matchAll(/<text class="marker-label" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => {
    const left = Number(m[1]);
    const baseline = Number(m[2]);
    const text = (m[3] ?? '').replace(/&amp;/g, '&');
    return { text, left, right: left + textWidth(text), top: baseline - CHART.fontSize, bottom: baseline + 3 };
  });
  const lines = [...svg.matchAll(/<line class="marker-line" x1="([\d.]+)" y1="([\d.]+)" x2="[\d.]+" y2="([\d.]+)"/g)].map((m) => ({ x: Number(m[1]), y1: Number(m[2]), y2: Number(m[3]) }));
  return { boxes, lines };
}

function expectNoCollisions(boxes: Pick<LabelBox, 'left' | 'right' | 'top' | 'bottom'>[], lines: { x: number; y1: number; y2: number }[]): void {
  const problems: string[] = [];
  boxes.forEach((a, i) => {
    boxes.forEach((b, j) => {
      if (j > i && a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) problems.push(`label ${i} overlaps label ${j}`);
    });
    lines.forEach((l, j) => {
      if (j !== i && l.x >= a.left && l.x <= a.right && l.y1 < a.bottom && l.y2 > a.top) problems.push(`marker line ${j} crosses label ${i}`);
    });
    if (a.left < 0 || a.right > CHART.width) problems.push(`label ${i} outside the picture (${a.left}..${a.right})`);
  });
  expect(problems).toEqual([]);
}

describe('timeline labels', () => {
  it('never overlap, and no marker line crosses a label, for the demo events (+sdown by reads stable, +odown by rollback)', () => {
    for (const r of [standalone, sentinel]) {
      const svg = timelineSvg(r.trials[0]!.buckets, trialMarkers(r.trials[0]!));
      const { boxes, lines } = drawnLabels(svg);
      expect(boxes.length).toBe(trialMarkers(r.trials[0]!).length);
      expectNoCollisions(boxes, lines);
    }
  });

  it('stay apart for any crowd of events: 60 markers, bunched, several at the same instant, some at the right edge', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const markers: Marker[] = [];
    for (let i = 0; i < 60; i += 1) {
      const t = i < 20 ? 1_000 + Math.round(rnd() * 300) : i < 26 ? 2_000 : Math.round(rnd() * 10_000);
      markers.push({ t, label: ['+sdown', '+odown', 'reads stable', 'rollback (restart)', '+switch-master', 'first write ok'][i % 6] as string, color: '#000' });
    }
    const b = buckets(-2_000, 10_000, 300, 10);
    const domain = chartDomain([{ buckets: b, markers }]);
    const x = (t: number): number => CHART.left + ((t - domain.t0) / (domain.t1 - domain.t0)) * (CHART.width - CHART.left - CHART.right);
    const placed = layoutMarkerLabels(markers, x);
    expect(placed.length).toBe(60);
    // Lines run from their label's row down to the plot.
    expectNoCollisions(placed, placed.map((p) => ({ x: p.x, y1: p.top + 2, y2: 10_000 })));
    // And the picture as drawn agrees.
    const drawn = drawnLabels(timelineSvg(b, markers, { domain }));
    expectNoCollisions(drawn.boxes, drawn.lines);
    expect(Math.max(...placed.map((p) => p.row)) + 1).toBe(domain.labelRows);
  });
});

describe('index page (standalone vs sentinel)', () => {
  const html = renderIndexHtml([
    { record: standalone, href: 'a.html' },
    { record: sentinel, href: 'b.html' },
  ]);

  it('draws both charts on the same time, request and latency axes', () => {
    const [a, b] = svgs(html);
    expect(a && b).toBeTruthy();
    expect(axes(a as string)).toEqual(axes(b as string));
    // The union: -1.9 s .. 14.9 s and the sentinel's 2.4 s latency peak.
    expect(axes(a as string).join('\n')).toContain('>14</text>');
    expect(axes(a as string).join('\n')).toContain('>3s</text>');
    // and the larger request count (22 per 100 ms) on round ticks: 0, 5, .., 25
    expect(axes(a as string).filter((t) => t.includes('text-anchor="end"')).map((t) => t.replace(/<[^>]*>/g, ''))).toEqual(['0', '5', '10', '15', '20', '25']);
  });

  it('makes the charts responsive and full width: viewBox, width 100 %, no fixed pixel widths, no external assets', () => {
    for (const svg of svgs(html)) {
      expect(svg).toMatch(/<svg[^>]*viewBox="0 0 \d+ \d+"/);
      expect(svg).toMatch(/<svg[^>]*width="100%"/);
      expect(svg).not.toMatch(/<svg[^>]*height="\d/);
    }
    expect(html).not.toMatch(/min-width|max-width:\s*\d/);
    expect(html).not.toMatch(/<script|<link|<img|https?:\/\/(?!www\.w3\.org)/);
  });

  it('has no "why it failed" row when every run passed', () => {
    expect(html).not.toContain('why it failed');
  });

  it('gives the reasons of a failed run only, and no "-" for the run that passed', () => {
    const failed = run('sentinel', sentinel.trials, ['write recovery 9.00 s > 3.00 s']);
    const mixed = renderIndexHtml([
      { record: standalone, href: 'a.html' },
      { record: failed, href: 'b.html' },
    ]);
    const row = mixed.match(/<tr><td>why it failed<\/td>(.*?)<\/tr>/)?.[1];
    expect(row).toBe('<td class="muted"></td><td class="muted">write recovery 9.00 s &gt; 3.00 s</td>');
  });
});

describe('run page with several trials', () => {
  const multi = run('sentinel', [
    trial(1, { detectionMs: 1_000, switchMs: 1_500, rollbackMs: 4_000, writeRecoveryMs: 2_300 }, [-1_000, 8_000], 400),
    trial(2, { detectionMs: 1_200, switchMs: 2_900, rollbackMs: 4_000, writeRecoveryMs: 3_100 }, [-1_000, 12_000], 1_800),
  ]);
  const html = renderRunHtml(multi);

  it('draws every trial on the same axes', () => {
    const [a, b] = svgs(html);
    expect(axes(a as string)).toEqual(axes(b as string));
  });

  it('names the aggregated figures for people, not by their keys', () => {
    const table = html.match(/<h2>Across 2 trials<\/h2>(.*?)<\/table>/s)?.[1] ?? '';
    expect(table).toContain('failure detection (kill → +sdown)');
    expect(table).not.toMatch(/\b[a-z]+[A-Z]\w*\b/); // no camelCase keys such as detectionMs
  });
});
