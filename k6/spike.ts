// Spike: a baseline rate, a sudden jump to SPIKE_RATE, hold, drop back; reads dominate (a login
// storm has its own scenario in the bench). Thresholds are looser than steady's.
//   k6 run k6/spike.ts -e BASE_URL=... -e BASE_RATE=20 -e SPIKE_RATE=400
// Env: BASE_RATE (20), SPIKE_RATE (300), WARM (20s), RAMP (5s), HOLD (30s), COOL (20s), MAX_VUS (300),
// USERS (50), ME_P99_MS (500), MAX_FAILED_RATE (0.05), K6_SUMMARY.
import type { Options } from 'k6/options';
import { credentialsFor, mixedIteration, registerPool, type Credentials } from './lib/auth.ts';
import { envDuration, envNum, TREND_STATS } from './lib/config.ts';
import { compact, output, type SummaryData } from './lib/summary.ts';

const base = envNum('BASE_RATE', 20);
const spike = envNum('SPIKE_RATE', 300);

export const options: Options = {
  scenarios: {
    spike: {
      executor: 'ramping-arrival-rate',
      startRate: base,
      timeUnit: '1s',
      preAllocatedVUs: envNum('VUS', 30),
      maxVUs: envNum('MAX_VUS', 300),
      stages: [
        { target: base, duration: envDuration('WARM', '20s') },
        { target: spike, duration: envDuration('RAMP', '5s') },
        { target: spike, duration: envDuration('HOLD', '30s') },
        { target: base, duration: envDuration('RAMP', '5s') },
        { target: base, duration: envDuration('COOL', '20s') },
      ],
      gracefulStop: '10s',
    },
  },
  setupTimeout: '120s',
  // Each VU is one browser that stays logged in across iterations (k6 clears jars per iteration by default).
  noCookiesReset: true,
  summaryTrendStats: TREND_STATS,
  thresholds: {
    http_req_failed: [`rate<${envNum('MAX_FAILED_RATE', 0.05)}`],
    'http_req_duration{name:me}': [`p(99)<${envNum('ME_P99_MS', 500)}`],
    'http_req_duration{name:login}': [`p(99)<${envNum('LOGIN_P99_MS', 5000)}`],
  },
};

export function setup(): { users: Credentials[] } {
  return { users: registerPool() };
}

export default function (data: { users: Credentials[] }): void {
  mixedIteration(credentialsFor(data.users), { me: 0.97, login: 0.02 });
}

export function handleSummary(data: SummaryData) {
  return output(compact('spike', data, { baseRate: base, spikeRate: spike }));
}
