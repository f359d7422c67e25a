// One autocannon run in its own process (so the load generator never shares an event loop with a
// server). Spec in env LOAD_SPEC (JSON); the result is one JSON line on stdout. Latencies are
// recorded from autocannon's per-response event at sub-millisecond resolution (autocannon's own
// histogram rounds to whole milliseconds, too coarse for sub-ms p50s).
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './lib/load.js';
import { percentile } from './lib/stats.js';

const spec = JSON.parse(process.env.LOAD_SPEC ?? '{}') as LoadSpec;
const latencies: number[] = [];
let ok = 0;
let non2xx = 0;
const statuses: Record<string, number> = {};
let i = 0;
const cookies = spec.cookies ?? [];
const bodies = spec.bodies ?? [];

const requests: autocannon.Request[] = [
  {
    method: spec.method ?? 'GET',
    path: new URL(spec.url).pathname,
    setupRequest: (req: autocannon.Request) => {
      const n = i++;
      const headers: Record<string, string> = { ...(spec.headers ?? {}) };
      if (cookies.length) headers.cookie = cookies[n % cookies.length]!;
      const out: autocannon.Request = { ...req, headers };
      if (bodies.length) out.body = bodies[n % bodies.length]!;
      return out;
    },
  },
];

// The generator's own CPU from here on (not tsx's start-up): what each response costs it.
const cpuAtStart = process.cpuUsage();
const inst = autocannon(
  {
    url: new URL(spec.url).origin,
    connections: spec.connections,
    duration: spec.seconds,
    timeout: 10,
    requests,
  },
  (err, result) => {
    if (err) {
      console.error(err);
      process.exit(1);
    }
    latencies.sort((a, b) => a - b);
    const seconds = result.duration;
    const out: LoadResult = {
      seconds,
      requests: ok + non2xx,
      ok,
      non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      rps: ok / seconds,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.length ? latencies[latencies.length - 1]! : NaN,
      statuses,
      cpuSeconds: (() => {
        const u = process.cpuUsage(cpuAtStart);
        return (u.user + u.system) / 1e6;
      })(),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  },
);
inst.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
  statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
  if (statusCode >= 200 && statusCode < 300) {
    ok++;
    latencies.push(responseTime);
  } else {
    non2xx++;
  }
});
