// The k6 scenarios, checked without a k6 binary (k6 is AGPL and not fetched on these machines;
// users run the scenarios with their own k6). `npm run typecheck` checks them against @types/k6;
// here each scenario's top level is evaluated with stand-ins for k6's modules and its `options`
// are checked against k6's rules, under the defaults and the overrides the docs use; the summary
// code is run on k6's summary shape; and `npm run load` without k6 says how to install it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { k6OptionProblems } from './k6-options.js';
import { declaredMetrics } from './k6-stand-in.js';

vi.mock('k6', () => import('./k6-stand-in.js').then((m) => m.k6));
vi.mock('k6/http', () => import('./k6-stand-in.js').then((m) => m.http));
vi.mock('k6/metrics', () => import('./k6-stand-in.js').then((m) => m.metrics));
vi.mock('k6/execution', () => import('./k6-stand-in.js').then((m) => m.execution));

const SCRIPTS = ['steady', 'spike', 'soak', 'chaos'] as const;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Loaded {
  options: Record<string, unknown>;
  handleSummary?: (data: unknown) => Record<string, string>;
}

/** Evaluates a scenario's init context afresh under `env` (k6's __ENV). */
async function load(script: string, env: Record<string, string> = {}): Promise<Loaded> {
  vi.resetModules();
  declaredMetrics.clear();
  (globalThis as { __ENV?: Record<string, string> }).__ENV = env;
  return (await import(`../../k6/${script}.ts`)) as Loaded;
}

afterEach(() => {
  delete (globalThis as { __ENV?: unknown }).__ENV;
});

describe('k6 scenario options', () => {
  it.each(SCRIPTS)('%s: options k6 accepts, with the defaults', async (script) => {
    const { options } = await load(script);
    expect(k6OptionProblems(options, declaredMetrics)).toEqual([]);
    expect(Object.keys(options.scenarios as object)).toEqual([script]);
  });

  it.each(SCRIPTS)('%s: options k6 accepts, with the overrides the docs use', async (script) => {
    const { options } = await load(script, { RATE: '20', DURATION: '3s', VUS: '5', MAX_VUS: '10', BASE_RATE: '5', SPIKE_RATE: '40', HOLD: '2s' });
    expect(k6OptionProblems(options, declaredMetrics)).toEqual([]);
  });

  it('the environment reaches the executor and the thresholds', async () => {
    const { options } = await load('steady', { RATE: '20', DURATION: '3s', ME_P99_MS: '42' });
    const s = (options.scenarios as Record<string, Record<string, unknown>>).steady;
    expect(s).toMatchObject({ executor: 'constant-arrival-rate', rate: 20, duration: '3s' });
    expect((options.thresholds as Record<string, string[]>)['http_req_duration{name:me}']).toEqual(['p(99)<42']);
  });

  it('chaos.ts declares every counter its per-second thresholds name', async () => {
    const { options } = await load('chaos', { DURATION: '5s' });
    const keys = Object.keys(options.thresholds as object);
    // 5 s + 15 s grace, 4 counters, plus `checks`.
    expect(keys).toHaveLength(20 * 4 + 1);
    for (const m of ['chaos_read_ok', 'chaos_read_fail', 'chaos_write_ok', 'chaos_write_fail']) expect(declaredMetrics.get(m)).toBe('counter');
  });

  it('a bad value in the environment is refused at load, with the variable named', async () => {
    await expect(load('steady', { DURATION: 'ten seconds' })).rejects.toThrow(/DURATION must be a k6 duration/);
    await expect(load('spike', { SPIKE_RATE: 'lots' })).rejects.toThrow(/SPIKE_RATE must be a number/);
  });

  it('the checker refuses what k6 refuses', () => {
    const custom = new Map([['my_counter', 'counter' as const]]);
    const bad = {
      scenarios: {
        'a b': { executor: 'constant-arrival-rate', rate: 1.5, duration: '10', preAllocatedVUs: 10, maxVUs: 5, vus: 3 },
        ramp: { executor: 'ramping-arrival-rate', preAllocatedVUs: 1, stages: [{ duration: '1m', target: -1 }] },
        odd: { executor: 'constant-rate' },
      },
      summaryTrendStats: ['p99'],
      thresholds: {
        http_req_duration: ['p99<100'],
        http_req_failed: ['avg<0.1'],
        my_counter: ['count>0'],
        unknown_metric: ['count>0'],
        'checks{a:b}{c:d}': ['rate>0'],
      },
    };
    const problems = k6OptionProblems(bad, custom);
    for (const expected of [
      'scenarios.a b: invalid scenario name',
      'scenarios.a b: "vus" is not a field of constant-arrival-rate',
      'scenarios.a b.duration: not a duration: "10"',
      'scenarios.a b.rate: must be a whole number >= 0, got 1.5',
      'scenarios.a b: maxVUs (5) < preAllocatedVUs (10)',
      'scenarios.ramp.stages[0].target: must be a whole number >= 0',
      'scenarios.odd: unknown executor "constant-rate"',
      'summaryTrendStats: unknown stat "p99"',
      'thresholds.http_req_duration: cannot parse "p99<100"',
      'thresholds.http_req_failed: "avg" does not apply to a rate metric',
      'thresholds: "unknown_metric" names a metric the script never declares',
      'thresholds: "checks{a:b}{c:d}" is not metric or metric{tag:value}',
    ]) {
      expect(problems).toContain(expected);
    }
    expect(problems.join('\n')).not.toMatch(/my_counter/);
  });
});

describe('k6 summaries', () => {
  // k6's handleSummary data: metrics with type, values and per-expression threshold results.
  const data = {
    state: { testRunDurationMs: 3012 },
    metrics: {
      http_reqs: { type: 'counter', values: { count: 60, rate: 19.92 } },
      http_req_failed: { type: 'rate', values: { rate: 0 }, thresholds: { 'rate<0.01': { ok: true } } },
      checks: { type: 'rate', values: { rate: 1 } },
      'http_req_duration{name:me}': {
        type: 'trend',
        values: { med: 1.234, 'p(90)': 2, 'p(95)': 2.5, 'p(99)': 3.456, max: 9 },
        thresholds: { 'p(99)<0.001': { ok: false } },
      },
      login_throttled: { type: 'counter', values: { count: 0, rate: 0 } },
    },
  };

  it('the compact summary goes to K6_SUMMARY, says which thresholds failed, and fails the run', async () => {
    const { handleSummary } = await load('steady', { K6_SUMMARY: '/tmp/x.json', BASE_URL: 'http://127.0.0.1:9' });
    const out = handleSummary!(data);
    const s = JSON.parse(out['/tmp/x.json'] as string) as Record<string, unknown>;
    expect(s).toMatchObject({
      scenario: 'steady',
      baseUrl: 'http://127.0.0.1:9',
      durationSeconds: 3,
      passed: false,
      thresholds: { 'http_req_failed: rate<0.01': true, 'http_req_duration{name:me}: p(99)<0.001': false },
      requests: 60,
      failedRate: 0,
      latencyMs: { 'http_req_duration{name:me}': { med: 1.23, p99: 3.46, max: 9 } },
      counters: { http_reqs: 60, login_throttled: 0 },
    });
    expect(out.stdout).toContain('steady: FAILED against http://127.0.0.1:9');
    expect(out.stdout).toContain('FAIL http_req_duration{name:me}: p(99)<0.001');
  });
});

describe('npm run load without k6', () => {
  it('prints one line on how to install k6 and exits 127', () => {
    const home = mkdtempSync(join(tmpdir(), 'no-k6-'));
    try {
      // A PATH with node and nothing else of this machine's, so no k6 can be found.
      const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'k6/run-load.ts')], {
        env: { PATH: dirname(process.execPath), HOME: home, BASE_URL: 'http://127.0.0.1:9' },
        encoding: 'utf8',
      });
      expect(r.status).toBe(127);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^\[load\] k6 is not installed: install it from Grafana .*K6_BIN/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
