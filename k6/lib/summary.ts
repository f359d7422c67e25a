// handleSummary helpers: a compact JSON summary (K6_SUMMARY=path, else stdout) plus a short
// human-readable block on stdout.

interface MetricData {
  type: string;
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}
export interface SummaryData {
  metrics: Record<string, MetricData>;
  state: { testRunDurationMs: number };
  setup_data?: unknown;
}

function r(x: number | undefined, d = 2): number | null {
  return x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d));
}

export function compact(scenario: string, data: SummaryData, extra: Record<string, unknown> = {}) {
  const thresholds: Record<string, boolean> = {};
  for (const [name, m] of Object.entries(data.metrics)) {
    for (const [expr, t] of Object.entries(m.thresholds ?? {})) thresholds[`${name}: ${expr}`] = t.ok;
  }
  const trends: Record<string, Record<string, number | null>> = {};
  for (const [name, m] of Object.entries(data.metrics)) {
    if (m.type === 'trend' && name.startsWith('http_req_duration')) {
      trends[name] = { med: r(m.values.med), p90: r(m.values['p(90)']), p95: r(m.values['p(95)']), p99: r(m.values['p(99)']), max: r(m.values.max) };
    }
  }
  const counters: Record<string, number | null> = {};
  for (const [name, m] of Object.entries(data.metrics)) {
    if (m.type === 'counter' && !name.includes('{')) counters[name] = r(m.values.count, 0);
  }
  return {
    scenario,
    baseUrl: __ENV.BASE_URL || 'http://127.0.0.1:3000',
    durationSeconds: r(data.state.testRunDurationMs / 1000, 1),
    passed: Object.values(thresholds).every(Boolean),
    thresholds,
    requests: r(data.metrics.http_reqs?.values.count, 0),
    requestsPerSecond: r(data.metrics.http_reqs?.values.rate),
    failedRate: r(data.metrics.http_req_failed?.values.rate, 4),
    checksRate: r(data.metrics.checks?.values.rate, 4),
    latencyMs: trends,
    counters,
    ...extra,
  };
}

export function output(summary: ReturnType<typeof compact>): Record<string, string> {
  const json = JSON.stringify(summary, null, 2);
  const lines = [
    '',
    `${summary.scenario}: ${summary.passed ? 'PASSED' : 'FAILED'} against ${summary.baseUrl}`,
    `  ${summary.requests} requests, ${summary.requestsPerSecond}/s, failed ${(100 * (summary.failedRate ?? 0)).toFixed(2)}%, checks ${(100 * (summary.checksRate ?? 0)).toFixed(2)}%`,
    ...Object.entries(summary.latencyMs).map(([k, v]) => `  ${k}: med ${v.med} ms, p95 ${v.p95} ms, p99 ${v.p99} ms, max ${v.max} ms`),
    ...Object.entries(summary.thresholds).map(([k, ok]) => `  ${ok ? 'ok  ' : 'FAIL'} ${k}`),
    '',
  ];
  const path = __ENV.K6_SUMMARY;
  return path ? { [path]: `${json}\n`, stdout: lines.join('\n') } : { stdout: `${lines.join('\n')}\n${json}\n` };
}
