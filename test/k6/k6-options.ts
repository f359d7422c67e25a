// Checks a k6 `options` object against the rules k6 applies when it loads a script (executor
// fields, durations, VU and rate bounds, threshold syntax and the metrics they name), so the
// scenarios are checked without a k6 binary. Rules from k6's docs: "Scenarios", "Executors",
// "Thresholds", "Metrics reference". Returns the problems found; none means k6 would accept it.
import type { MetricType } from './k6-stand-in.js';

const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/** k6's built-in metrics and their types (Metrics reference). */
export const BUILTIN_METRICS: Record<string, MetricType> = {
  checks: 'rate',
  data_received: 'counter',
  data_sent: 'counter',
  dropped_iterations: 'counter',
  iteration_duration: 'trend',
  iterations: 'counter',
  vus: 'gauge',
  vus_max: 'gauge',
  http_req_blocked: 'trend',
  http_req_connecting: 'trend',
  http_req_duration: 'trend',
  http_req_failed: 'rate',
  http_req_receiving: 'trend',
  http_req_sending: 'trend',
  http_req_tls_handshaking: 'trend',
  http_req_waiting: 'trend',
  http_reqs: 'counter',
  group_duration: 'trend',
};

/** Threshold aggregation methods allowed per metric type. */
const AGGREGATIONS: Record<MetricType, RegExp> = {
  counter: /^(count|rate)$/,
  gauge: /^value$/,
  rate: /^rate$/,
  trend: /^(avg|min|max|med|p\(\d+(\.\d+)?\))$/,
};

const COMMON = ['executor', 'startTime', 'gracefulStop', 'env', 'exec', 'tags', 'options'];
/** Per executor: fields it requires, and the others it accepts. */
const EXECUTORS: Record<string, { required: string[]; optional: string[] }> = {
  'shared-iterations': { required: [], optional: ['vus', 'iterations', 'maxDuration'] },
  'per-vu-iterations': { required: [], optional: ['vus', 'iterations', 'maxDuration'] },
  'constant-vus': { required: ['duration'], optional: ['vus'] },
  'ramping-vus': { required: ['stages'], optional: ['startVUs', 'gracefulRampDown'] },
  'constant-arrival-rate': { required: ['duration', 'rate', 'preAllocatedVUs'], optional: ['timeUnit', 'maxVUs'] },
  'ramping-arrival-rate': { required: ['stages', 'preAllocatedVUs'], optional: ['startRate', 'timeUnit', 'maxVUs'] },
  'externally-controlled': { required: ['duration'], optional: ['vus', 'maxVUs'] },
};
const DURATION_FIELDS = ['startTime', 'gracefulStop', 'maxDuration', 'duration', 'timeUnit', 'gracefulRampDown'];
const COUNT_FIELDS = ['vus', 'iterations', 'preAllocatedVUs', 'maxVUs', 'startVUs', 'rate', 'startRate'];

const isWholeNumber = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function checkScenario(name: string, s: Record<string, unknown>, problems: string[]): void {
  const at = `scenarios.${name}`;
  // k6: scenario names are used as tag values and file names: letters, digits, '_' and '-'.
  if (!/^[A-Za-z0-9_-]+$/.test(name)) problems.push(`${at}: invalid scenario name`);
  const spec = EXECUTORS[String(s.executor)];
  if (!spec) {
    problems.push(`${at}: unknown executor "${String(s.executor)}"`);
    return;
  }
  for (const f of spec.required) if (s[f] === undefined) problems.push(`${at}: ${String(s.executor)} needs "${f}"`);
  for (const f of Object.keys(s)) {
    if (!COMMON.includes(f) && !spec.required.includes(f) && !spec.optional.includes(f)) {
      problems.push(`${at}: "${f}" is not a field of ${String(s.executor)}`);
    }
  }
  for (const f of DURATION_FIELDS) {
    if (s[f] !== undefined && !(typeof s[f] === 'string' && DURATION.test(s[f]))) problems.push(`${at}.${f}: not a duration: ${JSON.stringify(s[f])}`);
  }
  for (const f of COUNT_FIELDS) {
    if (s[f] !== undefined && !isWholeNumber(s[f])) problems.push(`${at}.${f}: must be a whole number >= 0, got ${JSON.stringify(s[f])}`);
  }
  if (s.rate === 0) problems.push(`${at}.rate: must be > 0`);
  if (isWholeNumber(s.maxVUs) && isWholeNumber(s.preAllocatedVUs) && s.maxVUs < s.preAllocatedVUs) {
    problems.push(`${at}: maxVUs (${s.maxVUs}) < preAllocatedVUs (${s.preAllocatedVUs})`);
  }
  if (s.stages !== undefined) {
    if (!Array.isArray(s.stages) || s.stages.length === 0) problems.push(`${at}.stages: must be a non-empty list`);
    else {
      s.stages.forEach((st: { duration?: unknown; target?: unknown }, i) => {
        if (!(typeof st.duration === 'string' && DURATION.test(st.duration))) problems.push(`${at}.stages[${i}].duration: not a duration`);
        if (!isWholeNumber(st.target)) problems.push(`${at}.stages[${i}].target: must be a whole number >= 0`);
      });
    }
  }
}

function checkThreshold(key: string, exprs: unknown, custom: ReadonlyMap<string, MetricType>, problems: string[]): void {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(\{([^{}:]+):([^{}]*)\})?$/.exec(key);
  if (!m) {
    problems.push(`thresholds: "${key}" is not metric or metric{tag:value}`);
    return;
  }
  const metricName = m[1] as string;
  const type = BUILTIN_METRICS[metricName] ?? custom.get(metricName);
  if (!type) {
    problems.push(`thresholds: "${key}" names a metric the script never declares`);
    return;
  }
  if (!Array.isArray(exprs) || exprs.length === 0) {
    problems.push(`thresholds.${key}: must be a non-empty list`);
    return;
  }
  for (const e of exprs) {
    const text = typeof e === 'string' ? e : (e as { threshold?: unknown })?.threshold;
    const x = typeof text === 'string' ? /^\s*([a-z]+(\(\d+(\.\d+)?\))?)\s*(<=|>=|<|>|===|==|!=)\s*(-?\d+(\.\d+)?)\s*$/.exec(text) : null;
    if (!x) {
      problems.push(`thresholds.${key}: cannot parse ${JSON.stringify(e)}`);
      continue;
    }
    if (!AGGREGATIONS[type].test(x[1] as string)) problems.push(`thresholds.${key}: "${x[1]}" does not apply to a ${type} metric`);
  }
}

export function k6OptionProblems(options: Record<string, unknown>, custom: ReadonlyMap<string, MetricType>): string[] {
  const problems: string[] = [];
  const scenarios = options.scenarios as Record<string, Record<string, unknown>> | undefined;
  if (!scenarios || Object.keys(scenarios).length === 0) problems.push('no scenarios');
  for (const [name, s] of Object.entries(scenarios ?? {})) checkScenario(name, s, problems);
  for (const f of ['setupTimeout', 'teardownTimeout']) {
    const v = options[f];
    if (v !== undefined && !(typeof v === 'string' && DURATION.test(v))) problems.push(`${f}: not a duration`);
  }
  const stats = options.summaryTrendStats;
  if (stats !== undefined) {
    for (const s of stats as unknown[]) {
      if (typeof s !== 'string' || !/^(avg|min|med|max|count|p\(\d+(\.\d+)?\))$/.test(s)) problems.push(`summaryTrendStats: unknown stat ${JSON.stringify(s)}`);
    }
  }
  for (const [key, exprs] of Object.entries((options.thresholds ?? {}) as Record<string, unknown>)) checkThreshold(key, exprs, custom, problems);
  return problems;
}
