// Soak: the steady mix at a moderate rate for a long time (default 30m), to surface leaks,
// creeping latency and store growth. Bounded by DURATION.
//   k6 run k6/soak.ts -e BASE_URL=... -e DURATION=2h -e RATE=30
// Env: RATE (30), DURATION (30m), VUS (20), MAX_VUS (100), USERS (50), ME_P99_MS (100),
// LOGIN_P99_MS (2000), MAX_FAILED_RATE (0.001), K6_SUMMARY.
import type { Options } from 'k6/options';
import { credentialsFor, mixedIteration, registerPool, type Credentials } from './lib/auth.ts';
import { envDuration, envNum, TREND_STATS } from './lib/config.ts';
import { compact, output, type SummaryData } from './lib/summary.ts';

export const options: Options = {
  scenarios: {
    soak: {
      executor: 'constant-arrival-rate',
      rate: envNum('RATE', 30),
      timeUnit: '1s',
      duration: envDuration('DURATION', '30m'),
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
    http_req_failed: [`rate<${envNum('MAX_FAILED_RATE', 0.001)}`],
    'http_req_duration{name:me}': [`p(99)<${envNum('ME_P99_MS', 100)}`],
    'http_req_duration{name:login}': [`p(99)<${envNum('LOGIN_P99_MS', 2000)}`],
  },
};

export function setup(): { users: Credentials[] } {
  return { users: registerPool() };
}

export default function (data: { users: Credentials[] }): void {
  mixedIteration(credentialsFor(data.users));
}

export function handleSummary(data: SummaryData) {
  return output(compact('soak', data));
}
