// Load during a chaos experiment (e.g. killing the Redis primary): steady reads plus some writes
// (logins), with per-second success/failure counters tagged `second` (seconds since the scenario
// started) so handleSummary can print the failover window as a timeline. Thresholds are lenient:
// the experiment judges the outage, this script only records it and fails on a total collapse.
//   k6 run k6/chaos.ts -e BASE_URL=... -e DURATION=2m -e RATE=50
// Env: RATE (50), DURATION (2m), VUS (20), MAX_VUS (200), USERS (50), WRITE_SHARE (0.1),
// REQUEST_TIMEOUT (5s; slower counts as hung), MIN_SUCCESS_RATE (0.5), K6_SUMMARY.
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { Counter } from 'k6/metrics';
import { credentialsFor, login, me, registerPool, session, type Credentials } from './lib/auth.ts';
import { durationSeconds, envDuration, envNum, TREND_STATS } from './lib/config.ts';
import { compact, output, type SummaryData } from './lib/summary.ts';

const duration = envDuration('DURATION', '2m');
const seconds = Math.ceil(durationSeconds(duration)) + 15; // + graceful stop
const writeShare = envNum('WRITE_SHARE', 0.1);

const readOk = new Counter('chaos_read_ok');
const readFail = new Counter('chaos_read_fail');
const writeOk = new Counter('chaos_write_ok');
const writeFail = new Counter('chaos_write_fail');

// Submetrics only reach handleSummary when a threshold names them: one always-true threshold per
// (counter, second) puts every second of the timeline into the summary data.
const timelineThresholds: Record<string, string[]> = {};
for (let s = 0; s < seconds; s++) {
  for (const m of ['chaos_read_ok', 'chaos_read_fail', 'chaos_write_ok', 'chaos_write_fail']) {
    timelineThresholds[`${m}{second:${s}}`] = ['count>=0'];
  }
}

export const options: Options = {
  scenarios: {
    chaos: {
      executor: 'constant-arrival-rate',
      rate: envNum('RATE', 50),
      timeUnit: '1s',
      duration,
      preAllocatedVUs: envNum('VUS', 20),
      maxVUs: envNum('MAX_VUS', 200),
      gracefulStop: '10s',
    },
  },
  setupTimeout: '120s',
  // Each VU is one browser that stays logged in across iterations (k6 clears jars per iteration by default).
  noCookiesReset: true,
  summaryTrendStats: TREND_STATS,
  thresholds: {
    checks: [`rate>${envNum('MIN_SUCCESS_RATE', 0.5)}`],
    ...timelineThresholds,
  },
};

export function setup(): { users: Credentials[]; startedAt: number } {
  return { users: registerPool(), startedAt: Date.now() };
}

export default function (data: { users: Credentials[] }): void {
  const second = String(Math.floor((Date.now() - exec.scenario.startTime) / 1000));
  const tags = { second };
  if (!session.loggedIn || Math.random() < writeShare) {
    const good = login(credentialsFor(data.users), { op: 'write' });
    (good ? writeOk : writeFail).add(1, tags);
  } else {
    const good = me({ op: 'read' });
    (good ? readOk : readFail).add(1, tags);
  }
}

interface Second {
  second: number;
  readOk: number;
  readFail: number;
  writeOk: number;
  writeFail: number;
}

export function handleSummary(data: SummaryData) {
  const count = (m: string, s: number) => data.metrics[`${m}{second:${s}}`]?.values.count ?? 0;
  const timeline: Second[] = [];
  for (let s = 0; s < seconds; s++) {
    const row = { second: s, readOk: count('chaos_read_ok', s), readFail: count('chaos_read_fail', s), writeOk: count('chaos_write_ok', s), writeFail: count('chaos_write_fail', s) };
    if (row.readOk + row.readFail + row.writeOk + row.writeFail > 0) timeline.push(row);
  }
  const failing = timeline.filter((t) => t.readFail + t.writeFail > 0);
  const window = failing.length ? { from: failing[0]!.second, to: failing[failing.length - 1]!.second } : null;
  // The per-second submetric thresholds are bookkeeping; keep them out of the printed verdicts.
  const base = compact('chaos', data, {
    startedAt: (data.setup_data as { startedAt?: number } | undefined)?.startedAt ?? null,
    failureWindowSeconds: window,
    failures: { read: failing.reduce((a, t) => a + t.readFail, 0), write: failing.reduce((a, t) => a + t.writeFail, 0) },
    timeline,
  });
  base.thresholds = Object.fromEntries(Object.entries(base.thresholds).filter(([k]) => !k.includes('{second:')));
  const bar = (n: number, c: string) => c.repeat(Math.min(60, Math.ceil(n / 2)));
  const lines = timeline.map((t) => `  ${String(t.second).padStart(4)}s ${bar(t.readOk + t.writeOk, '.')}${bar(t.readFail + t.writeFail, 'X')}`);
  const out = output(base);
  out.stdout = `${out.stdout}\nper-second timeline ('.' ok, 'X' failed; 2 requests per mark):\n${lines.join('\n')}\n`;
  return out;
}
