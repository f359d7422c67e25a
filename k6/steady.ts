// Steady load: constant arrival rate, ~90% GET /auth/me, ~7% login, ~3% logout.
// Thresholds fail the run (exit 99) when errors or p99 latency exceed their bounds.
//   k6 run k6/steady.ts -e BASE_URL=http://127.0.0.1:3000 -e RATE=50 -e DURATION=1m
// Env: BASE_URL, RATE (iterations/s, 50), DURATION (1m), VUS (20 pre-allocated), MAX_VUS (100),
// USERS (50), ME_P99_MS (100), LOGIN_P99_MS (2000), MAX_FAILED_RATE (0.01), K6_SUMMARY (path).
import type { Options } from 'k6/options';
import { credentialsFor, mixedIteration, registerPool, type Credentials } from './lib/auth.ts';
import { envDuration, envNum, TREND_STATS } from './lib/config.ts';
import { compact, output, type SummaryData } from './lib/summary.ts';

export const options: Options = {
  scenarios: {
    steady: {
      executor: 'constant-arrival-rate',
      rate: envNum('RATE', 50),
      timeUnit: '1s',
      duration: envDuration('DURATION', '1m'),
      preAllocatedVUs: envNum('VUS', 20),
      maxVUs: envNum('MAX_VUS', 100),
      gracefulStop: '10s',
    },
  },
  setupTimeout: '120s',
  // Each VU is one browser that stays logged in across iterations (k6 clears jars per iteration by default).
  noCookiesReset: true,
  summaryTrendStats: TREND_STATS,
  thresholds: {
    http_req_failed: [`rate<${envNum('MAX_FAILED_RATE', 0.01)}`],
    checks: [`rate>${1 - envNum('MAX_FAILED_RATE', 0.01)}`],
    'http_req_duration{name:me}': [`p(99)<${envNum('ME_P99_MS', 100)}`],
    'http_req_duration{name:login}': [`p(99)<${envNum('LOGIN_P99_MS', 2000)}`],
    'http_req_duration{name:logout}': [`p(99)<${envNum('ME_P99_MS', 100) * 2}`],
  },
};

export function setup(): { users: Credentials[] } {
  return { users: registerPool() };
}

export default function (data: { users: Credentials[] }): void {
  mixedIteration(credentialsFor(data.users));
}

export function handleSummary(data: SummaryData) {
  return output(compact('steady', data));
}
