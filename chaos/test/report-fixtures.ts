/** Made-up runs for the report and summary tests: the demo's shapes, no processes. */
import type { RunRecord, TrialRecord } from '../src/record.js';
import { aggregate, partitionFigures, type Bucket, type Figures } from '../src/figures.js';

export const FIGURES: Figures = {
  detectionMs: null,
  odownMs: null,
  switchMs: null,
  writeRecoveryMs: 0,
  readRecoveryMs: 0,
  firstWriteOkMs: 0,
  firstReadOkMs: 0,
  failovers: 0,
  firstFailureMs: null,
  failedRequests: 0,
  failedLogins: 0,
  failedReads: 0,
  failedReadsBeforeRollback: 0,
  failureWindow: null,
  hungRequests: 0,
  totalRequests: 1000,
  successRate: 1,
  latencyP50Ms: 3,
  latencyP99Ms: 100,
  latencyMaxMs: 500,
  ackedSessions: 16,
  ackedSessionsLost: 0,
  revocations: 20,
  revocationsUndone: 0,
  ambiguous: 0,
  rollbackMs: null,
  passwordChanges: null,
  passwordChangesUndone: null,
  ...partitionFigures([], { kind: 'kill-primary', target: 'n/a', at: 0 }, undefined),
};

export function buckets(fromMs: number, toMs: number, maxLatency: number, perBucket: number): Bucket[] {
  const out: Bucket[] = [];
  for (let t = fromMs; t < toMs; t += 100) out.push({ t, ok: perBucket, failed: t >= 0 && t < 1000 ? 2 : 0, hung: 0, p50: 3, max: t === 500 ? maxLatency : 20 });
  return out;
}

export function trial(index: number, figures: Partial<Figures>, range: [number, number], maxLatency: number, perBucket = 15): TrialRecord {
  return {
    index,
    startAt: 0,
    endAt: 0,
    fault: { kind: 'kill-primary', target: 'redis-primary (127.0.0.1:1)', at: 1_000_000 },
    rollbackAt: null,
    events: [],
    figures: { ...FIGURES, ...figures },
    buckets: buckets(range[0], range[1], maxLatency, perBucket),
    checks: [],
    pass: true,
    samples: [0, 0],
  };
}

export function run(topology: string, trials: TrialRecord[], reasons: string[] = []): RunRecord {
  return {
    experiment: 'kill-primary',
    title: 'kill -9 the Redis primary',
    description: 'test',
    platform: 'local',
    topology,
    startedAt: '2026-12-02T00:00:00.000Z',
    durationMs: 1000,
    config: {},
    hypothesisBefore: { at: 0, probes: [], pass: true },
    hypothesisAfter: null,
    trials,
    aggregate: aggregate(trials.map((t) => t.figures)),
    verdict: reasons.length ? 'fail' : 'pass',
    verdictReasons: reasons,
    samples: [],
  };
}

// The demo's shapes: standalone is down until the restart at 5 s; Sentinel fails over in ~1.5 s.
export const standalone = run('standalone', [
  trial(1, { rollbackMs: 5_000, firstWriteOkMs: 5_180, writeRecoveryMs: 5_480, firstReadOkMs: 5_250, readRecoveryMs: 5_470 }, [-1_900, 9_100], 759, 20),
]);
export const sentinel = run('sentinel', [
  trial(1, { detectionMs: 1_070, odownMs: 1_150, switchMs: 1_520, rollbackMs: 4_000, firstWriteOkMs: 2_200, writeRecoveryMs: 2_340, firstReadOkMs: 1_870, readRecoveryMs: 1_900 }, [-1_800, 14_900], 2_400, 17),
]);
