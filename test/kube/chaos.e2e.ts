// Chaos through the real Kubernetes API, on the Sentinel topology under steady load: the chaos
// runner (chaos/src/cli.ts, --platform kubernetes) deletes the Redis primary pod, forced
// (gracePeriodSeconds 0, like kill -9) and graceful (the pod's own grace: preStop, SIGTERM), 10
// trials each, with Prometheus (Debian's) scraping the release by kubernetes_sd through the API
// server and the chart's alert rules loaded; then the chart's in-cluster chaos Job (helm test).
// Each run's JSON record lands in reports/kube/<run>/; the README's Kubernetes figures come from them.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../chaos/src/experiments/runner.js';
import { chartDir, clusterEnv, getJson, helm, imageValuesFile, kubectl, localkubeHome, must, pods, repoRoot, serviceUrl } from './support/kube.js';

const ns = 'e2e-chaos';
const release = 'sa';
const TRIALS = Number(process.env.KUBE_CHAOS_TRIALS ?? 10);

async function secretValue(name: string, key: string): Promise<string> {
  const s = await getJson<{ data: Record<string, string> }>(['-n', ns, 'get', 'secret', name]);
  return Buffer.from(s.data[key] ?? '', 'base64').toString('utf8');
}

/** The chaos runner's environment for this release, as the chart's chaos Job sets it, but with addresses reachable from the node. */
async function runnerEnv(): Promise<Record<string, string>> {
  const sentinels = await pods(ns, `app.kubernetes.io/instance=${release},app.kubernetes.io/component=sentinel`);
  return {
    ...clusterEnv(),
    K8S_NAMESPACE: ns,
    BASE_URL: await serviceUrl(ns, `${release}-session-auth`),
    SESSION_STORE: 'sentinel',
    REDIS_SENTINELS: sentinels.map((p) => `${p.status.podIP}:26379`).join(','),
    REDIS_MASTER_NAME: 'mymaster',
    REDIS_SENTINEL_PASSWORD: await secretValue(`${release}-session-auth`, 'redis-sentinel-password'),
    APP_POD_SELECTOR: `app.kubernetes.io/instance=${release},app.kubernetes.io/component=app`,
    REDIS_POD_SELECTOR: `app.kubernetes.io/instance=${release},app.kubernetes.io/component=redis`,
    SENTINEL_POD_SELECTOR: `app.kubernetes.io/instance=${release},app.kubernetes.io/component=sentinel`,
    // The release keeps the production cookie defaults (Secure, __Host-sid): the runner stands
    // in for the TLS edge as the chart's own chaos Job does.
    CHAOS_FORWARDED_PROTO: 'https',
    // Debian's prometheus has no kubernetes_sd; deploy/localkube/build.sh builds one that does.
    PROMETHEUS_BIN: join(localkubeHome, 'bin', 'prometheus'),
    // The load is one client IP: the per-IP login limit is raised in the release (below).
  };
}

/** Runs the chaos CLI as a user would and returns its JSON record. */
async function chaosRun(name: string, extraEnv: Record<string, string>, args: string[]): Promise<RunRecord> {
  const dir = join(repoRoot, 'reports', 'kube', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, ...(await runnerEnv()), ...extraEnv };
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), join(repoRoot, 'chaos/src/cli.ts'), 'run', '--platform', 'kubernetes', '--report-dir', dir, ...args], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  const json = readdirSync(dir).find((f) => f.endsWith('.json'));
  expect(json, `chaos run ${name} wrote no record (exit ${code})`).toBeDefined();
  return JSON.parse(readFileSync(join(dir, json as string), 'utf8')) as RunRecord;
}

function expectNoDamage(record: RunRecord): void {
  for (const t of record.trials) {
    expect(t.figures.ackedSessionsLost, 'acknowledged sessions lost').toBe(0);
    expect(t.figures.revocationsUndone, 'revocations undone').toBe(0);
    expect(t.figures.hungRequests, 'hung requests').toBe(0);
  }
}

describe('chaos through the Kubernetes API (Sentinel)', () => {
  beforeAll(async () => {
    await must(kubectl(['create', 'namespace', ns]), 'create namespace');
    await must(
      helm([
        'install', release, chartDir, '-n', ns,
        '-f', join(chartDir, 'ci', 'default-values.yaml'), '-f', imageValuesFile(),
        '--set-string', 'config.extraEnv.LOGIN_MAX_ATTEMPTS_PER_IP=1000000',
        '--set', 'chaos.job.enabled=true', '--set', 'chaos.job.mode=test',
        '--wait', '--timeout', '8m',
      ]),
      'helm install',
    );
  }, 900_000);

  afterAll(async () => {
    await helm(['uninstall', release, '-n', ns, '--wait', '--timeout', '2m']);
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it(`forced delete of the primary pod, ${TRIALS} trials: failover, no acknowledged write lost, alerts fire`, async () => {
    const record = await chaosRun('kill-primary-forced', {}, ['--experiment', 'kill-primary', '--trials', String(TRIALS), '--observe']);
    expect(record.trials).toHaveLength(TRIALS);
    expectNoDamage(record);
    expect(record.verdict, record.verdictReasons.join('\n')).toBe('pass');
    const fired = (record.alerts ?? []).filter((a) => a.state === 'firing').map((a) => a.alert);
    expect(fired).toContain('RedisFailoverHappened');
  }, 3_600_000);

  it(`graceful delete of the primary pod, ${TRIALS} trials`, async () => {
    const record = await chaosRun('kill-primary-graceful', { CHAOS_DELETE_GRACE_SECONDS: 'default' }, ['--experiment', 'kill-primary', '--trials', String(TRIALS)]);
    expect(record.trials).toHaveLength(TRIALS);
    expectNoDamage(record);
    expect(record.verdict, record.verdictReasons.join('\n')).toBe('pass');
  }, 3_600_000);

  it('the in-cluster chaos Job (helm test, the chaos ServiceAccount) passes', async () => {
    const r = await helm(['test', release, '-n', ns, '--filter', `name=${release}-session-auth-chaos`, '--timeout', '15m'], 1_000_000);
    const logs = await kubectl(['-n', ns, 'logs', `job/${release}-session-auth-chaos`, '--all-containers']);
    expect(r.code, `${r.stderr}\n${logs.stdout}`).toBe(0);
    expect(logs.stdout).toMatch(/verdict|pass/i);
    if (!existsSync(join(repoRoot, 'reports', 'kube'))) mkdirSync(join(repoRoot, 'reports', 'kube'), { recursive: true });
  }, 1_000_000);
});
