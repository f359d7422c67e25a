/**
 * The live view of a chaos run: a page served by the runner itself on loopback, no external
 * assets, that draws the request timeline as it fills in while the fault happens. The page
 * (chaos/live/) gets its data from GET /events, a Server-Sent Events stream:
 *
 *   event: run       {id, experiment, title, topology, platform, startedAt}   a run began
 *   event: samples   {run, rows: [[t0, latencyMs, status, ok, op], ...]}      new requests (t0: ms since the run began)
 *   event: timeline  {run, rows: [[at, source, channel, message], ...]}       Sentinel events (+sdown, +switch-master...)
 *   event: mark      {run, at, kind, trial, label}                            trial start/end, fault, rollback
 *   event: done      {run, verdict, reasons, at}                              the verdict
 *
 * A page that connects late (or reconnects) is sent everything so far first, then the rest live.
 * New samples go out every FLUSH_MS: often enough to watch, few enough writes for a 2-core machine.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Op, Sample } from '../load.js';
import type { TimelineEvent } from '../figures.js';
import type { RunObserver } from '../experiments/runner.js';

export const FLUSH_MS = 250;
export const OPS: readonly Op[] = ['login', 'me', 'logout', 'register', 'verify', 'password'];

/** The page's policy: its own script and stylesheet, the event stream, nothing else. */
export const LIVE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** chaos/live, from src/live (tsx) and dist/live (node) alike. */
const PAGE_DIR = new URL('../../live/', import.meta.url);
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/live.js': { file: 'live.js', type: 'text/javascript; charset=utf-8' },
  '/live.css': { file: 'live.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

interface LiveRun {
  id: number;
  info: { experiment: string; title: string; topology: string; platform: string; startedAt: number };
  samples: readonly Sample[];
  events: () => TimelineEvent[];
  /** What has gone out so far, replayed to a page that connects later. */
  sent: { samples: number; events: number };
  log: string[];
}

export interface LiveView {
  readonly url: string;
  readonly observer: RunObserver;
  /** Pages connected to the stream now. */
  clients(): number;
  close(): Promise<void>;
}

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function sampleRow(s: Sample, startedAt: number): [number, number, number, number, number] {
  return [s.t0 - startedAt, s.t1 - s.t0, s.status, s.ok ? 1 : 0, OPS.indexOf(s.op)];
}

export async function startLiveView(opts: { port?: number; host?: string } = {}): Promise<LiveView> {
  const files = Object.fromEntries(Object.entries(FILES).map(([path, f]) => [path, { ...f, body: readFileSync(new URL(f.file, PAGE_DIR)) }]));
  const runs: LiveRun[] = [];
  // Only what a client is used for. Typed Set<ServerResponse>, a clean `tsc -b` (no tsbuildinfo)
  // rejected `res` here ("writeInformation missing", chaos has its own @types/node 24); an
  // incremental one did not.
  const clients = new Set<{ write(chunk: string): unknown; end(): unknown }>();

  const broadcast = (run: LiveRun, chunk: string): void => {
    run.log.push(chunk);
    for (const c of clients) c.write(chunk);
  };

  /** Sends what is new in the current run (its samples and Sentinel events grow in place). */
  const flush = (): void => {
    const run = runs.at(-1);
    if (!run) return;
    const samples = run.samples.slice(run.sent.samples);
    if (samples.length) {
      run.sent.samples += samples.length;
      broadcast(run, frame('samples', { run: run.id, rows: samples.map((s) => sampleRow(s, run.info.startedAt)) }));
    }
    const events = run.events().slice(run.sent.events);
    if (events.length) {
      run.sent.events += events.length;
      broadcast(run, frame('timeline', { run: run.id, rows: events.map((e) => [e.at - run.info.startedAt, e.source, e.channel, e.message]) }));
    }
  };
  const timer = setInterval(flush, FLUSH_MS);
  timer.unref();
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://live').pathname;
    const common = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cross-origin-resource-policy': 'same-origin' };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...common, allow: 'GET, HEAD', 'content-type': 'application/json' }).end('{"error":{"code":"METHOD_NOT_ALLOWED","message":"GET only."}}');
      return;
    }
    if (path === '/events') {
      res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write('retry: 1000\n\n');
      for (const run of runs) for (const chunk of run.log) res.write(chunk);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    const f = files[path];
    if (!f) {
      res.writeHead(404, { ...common, 'content-type': 'application/json' }).end('{"error":{"code":"NOT_FOUND","message":"No such page."}}');
      return;
    }
    res.writeHead(200, { ...common, 'content-type': f.type, 'cache-control': 'no-cache', 'content-security-policy': LIVE_CSP, 'x-frame-options': 'DENY' });
    res.end(req.method === 'HEAD' ? undefined : f.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const observer: RunObserver = {
    started(r) {
      flush();
      const run: LiveRun = {
        id: runs.length + 1,
        info: { experiment: r.experiment, title: r.title, topology: r.topology, platform: r.platform, startedAt: r.startedAt },
        samples: r.samples,
        events: r.events,
        sent: { samples: 0, events: 0 },
        log: [],
      };
      runs.push(run);
      broadcast(run, frame('run', { id: run.id, ...run.info }));
    },
    mark(m) {
      const run = runs.at(-1);
      if (!run) return;
      // The samples up to now first, so the mark lands on a timeline that has them.
      flush();
      broadcast(run, frame('mark', { run: run.id, ...m, at: m.at - run.info.startedAt }));
    },
    finished(r) {
      const run = runs.at(-1);
      if (!run) return;
      flush();
      broadcast(run, frame('done', { run: run.id, verdict: r.verdict, reasons: r.reasons, at: r.at - run.info.startedAt }));
    },
  };

  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}/`,
    observer,
    clients: () => clients.size,
    async close() {
      clearInterval(timer);
      clearInterval(heartbeat);
      flush();
      for (const c of clients) c.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
