/**
 * The chaos runner's live view during a real run: kill -9 of the Redis primary on Sentinel (one
 * app replica, real processes), watched at once by a plain HTTP client of GET /events and by
 * Chromium on the page. The stream must deliver the requests while the fault is on, not at the
 * end; the page must draw them then. Screenshots in .run/screenshots/chaos-live (git-ignored).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../chaos/src/cluster/index.js';
import { runExperiment } from '../../chaos/src/experiments/runner.js';
import type { RunRecord } from '../../chaos/src/record.js';
import { LIVE_CSP, startLiveView, type LiveView } from '../../chaos/src/live/server.js';
import { LocalPlatform } from '../../chaos/src/platforms/local.js';
import { launchChromium, screenshotter, type Chromium } from './support/chromium.js';

interface Frame {
  event: string;
  data: { run?: number; rows?: unknown[]; kind?: string; verdict?: string };
  receivedAt: number;
}

/** A Server-Sent Events client on fetch: every frame with the time it arrived. */
function listen(url: string): { frames: Frame[]; stop(): void } {
  const frames: Frame[] = [];
  const abort = new AbortController();
  void (async () => {
    const res = await fetch(url, { signal: abort.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const raw = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const event = /^event: (.*)$/m.exec(raw)?.[1];
        const data = /^data: (.*)$/m.exec(raw)?.[1];
        if (event && data) frames.push({ event, data: JSON.parse(data) as Frame['data'], receivedAt: Date.now() });
      }
    }
  })().catch(() => {});
  return { frames, stop: () => abort.abort() };
}

const rowsOf = (frames: Frame[], event: string) => frames.filter((f) => f.event === event).reduce((n, f) => n + (f.data.rows?.length ?? 0), 0);

let dir: string;
let cluster: Cluster;
let live: LiveView;
let chromium: Chromium;
const shots = screenshotter('chaos-live');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chaos-live-'));
  [cluster, live, chromium] = await Promise.all([
    startCluster({ topology: 'sentinel', replicas: 1, runDir: join(dir, 'run') }),
    startLiveView(),
    launchChromium(),
  ]);
}, 120_000);

afterAll(async () => {
  await chromium?.close();
  await live?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('chaos live view', () => {
  it('streams the request timeline while the primary is down, and the page draws it then', async () => {
    const page = await (await chromium.browser.newContext({ viewport: { width: 1200, height: 700 } })).newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    const res = await page.goto(live.url);
    expect(res?.headers()['content-security-policy']).toBe(LIVE_CSP);
    await page.locator('#connection.live').waitFor({ timeout: 10_000 });
    const stream = listen(`${live.url}events`);
    await expect.poll(() => live.clients(), { timeout: 5_000 }).toBe(2);

    let finishedAt = 0;
    const run: Promise<RunRecord> = runExperiment({
      platform: new LocalPlatform(cluster),
      experiment: 'kill-primary',
      users: 8,
      warmupMs: 1_000,
      observeMs: 6_000,
      observer: live.observer,
    }).finally(() => (finishedAt = Date.now()));

    // While the run goes on: the fault reaches the page, then failures or Sentinel's lines do.
    await page.locator('.stats', { hasText: /fault at \d+\.\d+ s: kill-primary/ }).waitFor({ timeout: 60_000 });
    expect(finishedAt, 'the page showed the fault before the run ended').toBe(0);
    await page.locator('svg .marker.fault').waitFor();
    await shots.shot(page, 'fault-injected');
    // The requests failing while there is no primary, drawn while it is so.
    await page.locator('svg rect.fail').first().waitFor({ timeout: 30_000 });
    expect(finishedAt, 'the page showed failed requests before the run ended').toBe(0);
    await shots.shot(page, 'failures-live');

    const record = await run;
    // Sentinel's failover as the report's figures saw it, drawn on the page too.
    const streamed = () => stream.frames.filter((f) => f.event === 'timeline').flatMap((f) => (f.data.rows as [number, string, string][]).map((r) => `${r[2]}@${r[0]}`)).join(' ');
    if (record.trials[0]?.figures.switchMs != null) {
      await page.locator('svg .marker.sentinel', { hasText: '+switch-master' }).waitFor({ timeout: 10_000 }).catch(async (err: Error) => {
        await shots.shot(page, 'failed');
        const drawn = await page.locator('svg .marker').allTextContents();
        throw new Error(`${err.message}; drawn: ${drawn.join(' | ')}; streamed: ${streamed()}; fault at ${record.trials[0]!.fault.at - new Date(record.startedAt).getTime()}`);
      });
    }
    else throw new Error(`no failover in the run: ${record.verdictReasons.join('; ')}`);
    await page.locator('.verdict', { hasText: record.verdict.toUpperCase() }).waitFor({ timeout: 10_000 });
    // The last flush may still be on its way to the page.
    await expect.poll(async () => page.locator('.stats span').first().innerText(), { timeout: 5_000 }).toBe(`${record.samples.length} requests`);
    await shots.shot(page, 'run-done');
    stream.stop();

    // The HTTP stream: every request of the run, in frames that arrived during the fault.
    const { frames } = stream;
    const fault = frames.find((f) => f.event === 'mark' && f.data.kind === 'fault');
    const done = frames.find((f) => f.event === 'done');
    expect(fault && done, frames.map((f) => f.event).join()).toBeTruthy();
    expect(done!.data.verdict).toBe(record.verdict);
    const during = frames.filter((f) => f.event === 'samples' && f.receivedAt > fault!.receivedAt && f.receivedAt < done!.receivedAt);
    expect(during.length, 'sample frames between the fault and the end').toBeGreaterThan(10);
    expect(during.at(-1)!.receivedAt).toBeLessThan(finishedAt);
    expect(rowsOf(frames, 'samples')).toBe(record.samples.length);
    const failedDuring = during.flatMap((f) => f.data.rows as [number, number, number, number][]).filter((r) => r[3] === 0);
    expect(failedDuring.length, 'failed requests streamed while the primary was down').toBeGreaterThan(0);
    expect(frames.some((f) => f.event === 'timeline' && (f.data.rows as string[][]).some((r) => r[2] === '+switch-master'))).toBe(true);

    // A page that connects after the run is sent the whole of it.
    const late = listen(`${live.url}events`);
    await expect.poll(() => late.frames.some((f) => f.event === 'done'), { timeout: 5_000 }).toBe(true);
    late.stop();
    expect(rowsOf(late.frames, 'samples')).toBe(record.samples.length);

    // Only GET; nothing else is served.
    expect((await fetch(live.url, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${live.url}nope`)).status).toBe(404);
    expect(problems).toEqual([]);
  }, 120_000);
});
