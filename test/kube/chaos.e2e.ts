// Chaos through the real Kubernetes API, on the Sentinel topology under steady load: the chaos
// runner (chaos/src/cli.ts, --platform kubernetes) deletes the Redis primary pod, forced
// (gracePeriodSeconds 0, like kill -9) and graceful (the pod's own grace: preStop, SIGTERM), 10
// trials each, with Prometheus (Debian's) scraping the release by kubernetes_sd through the API
// server and the chart's alert rules loaded; then the chart's in-cluster chaos Job (helm test).
// Each run's JSON record lands in reports/kube/<run>/; the README's Kubernetes figures come from them.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseRunnerEnv, chaosRun, expectNoDamage, expectPass, secretValue, useChaosRelease } from './support/chaos.js';
import { helm, kubectl, pods, repoRoot } from './support/kube.js';

const ns = 'e2e-chaos';
const release = 'sa';
const TRIALS = Number(process.env.KUBE_CHAOS_TRIALS ?? 10);

/** The chaos runner's environment for this release, as the chart's chaos Job sets it, but with addresses reachable from the node. */
async function runnerEnv(): Promise<Record<string, string>> {
  const sentinels = await pods(ns, `app.kubernetes.io/instance=${release},app.kubernetes.io/component=sentinel`);
  return {
    ...(await baseRunnerEnv(ns, release)),
    SESSION_STORE: 'sentinel',
    REDIS_SENTINELS: sentinels.map((p) => `${p.status.podIP}:26379`).join(','),
    REDIS_MASTER_NAME: 'mymaster',
    REDIS_SENTINEL_PASSWORD: await secretValue(ns, `${release}-session-auth`, 'redis-sentinel-password'),
    SENTINEL_POD_SELECTOR: `app.kubernetes.io/instance=${release},app.kubernetes.io/component=sentinel`,
  };
}

describe('chaos through the Kubernetes API (Sentinel)', () => {
  useChaosRelease(ns, release, 'default-values.yaml');

  it(`forced delete of the primary pod, ${TRIALS} trials: failover, no acknowledged write lost, alerts fire`, async () => {
    const record = await chaosRun('kill-primary-forced', await runnerEnv(), ['--experiment', 'kill-primary', '--trials', String(TRIALS), '--observe']);
    expect(record.trials).toHaveLength(TRIALS);
    expectNoDamage(record);
    await expectPass(record, ns, release, 'kill-primary-forced');
    const fired = (record.alerts ?? []).filter((a) => a.state === 'firing').map((a) => a.alert);
    expect(fired).toContain('RedisFailoverHappened');
  }, 3_600_000);

  it(`graceful delete of the primary pod, ${TRIALS} trials`, async () => {
    const record = await chaosRun('kill-primary-graceful', { ...(await runnerEnv()), CHAOS_DELETE_GRACE_SECONDS: 'default' }, ['--experiment', 'kill-primary', '--trials', String(TRIALS)]);
    expect(record.trials).toHaveLength(TRIALS);
    expectNoDamage(record);
    await expectPass(record, ns, release, 'kill-primary-graceful');
  }, 3_600_000);

  it('the in-cluster chaos Job (helm test, the chaos ServiceAccount) passes', async () => {
    const r = await helm(['test', release, '-n', ns, '--filter', `name=${release}-session-auth-chaos`, '--timeout', '15m'], 1_000_000);
    const logs = await kubectl(['-n', ns, 'logs', `job/${release}-session-auth-chaos`, '--all-containers']);
    expect(r.code, `${r.stderr}\n${logs.stdout}`).toBe(0);
    expect(logs.stdout).toMatch(/verdict|pass/i);
    if (!existsSync(join(repoRoot, 'reports', 'kube'))) mkdirSync(join(repoRoot, 'reports', 'kube'), { recursive: true });
  }, 1_000_000);
});
