// The chaos runner as the real-cluster e2e drives it: the CLI run as a user would (tsx, --platform
// kubernetes) from the node, with the release's env; its JSON record read back; and the verdict
// checked with the cluster's evidence kept when it is not a pass.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { RunRecord } from '../../../chaos/src/record.js';
import { chartDir, clusterEnv, getJson, helm, imageValuesFile, keepDiagnostics, kubectl, localkubeHome, must, repoRoot, serviceUrl } from './kube.js';

/**
 * One chaos release per suite: a namespace and the chart installed with `valuesFile` (ci/), the
 * chaos Job enabled in test mode, and the per-IP login limit raised (the load is one client IP);
 * uninstalled after the suite.
 */
export function useChaosRelease(namespace: string, release: string, valuesFile: string): void {
  beforeAll(async () => {
    await must(kubectl(['create', 'namespace', namespace]), 'create namespace');
    await must(
      helm([
        'install', release, chartDir, '-n', namespace,
        '-f', join(chartDir, 'ci', valuesFile), '-f', imageValuesFile(),
        '--set-string', 'config.extraEnv.LOGIN_MAX_ATTEMPTS_PER_IP=1000000',
        '--set', 'chaos.job.enabled=true', '--set', 'chaos.job.mode=test',
        '--wait', '--timeout', '8m',
      ]),
      'helm install',
    );
  }, 900_000);
  afterAll(async () => {
    await helm(['uninstall', release, '-n', namespace, '--wait', '--timeout', '2m']);
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });
}

/** The chaos runner's env every topology shares, as the chart's chaos Job sets it, with addresses reachable from the node. */
export async function baseRunnerEnv(namespace: string, release: string): Promise<Record<string, string>> {
  return {
    ...clusterEnv(),
    K8S_NAMESPACE: namespace,
    BASE_URL: await serviceUrl(namespace, `${release}-session-auth`),
    APP_POD_SELECTOR: `app.kubernetes.io/instance=${release},app.kubernetes.io/component=app`,
    REDIS_POD_SELECTOR: `app.kubernetes.io/instance=${release},app.kubernetes.io/component=redis`,
    // The release keeps the production cookie defaults (Secure, __Host-sid): the runner stands
    // in for the TLS edge as the chart's own chaos Job does.
    CHAOS_FORWARDED_PROTO: 'https',
    // Debian's prometheus has no kubernetes_sd; deploy/localkube/build.sh builds one that does.
    PROMETHEUS_BIN: join(localkubeHome, 'bin', 'prometheus'),
  };
}

export async function secretValue(namespace: string, name: string, key: string): Promise<string> {
  const s = await getJson<{ data: Record<string, string> }>(['-n', namespace, 'get', 'secret', name]);
  return Buffer.from(s.data[key] ?? '', 'base64').toString('utf8');
}

/** Runs the chaos CLI with `env` (the release's runner env) and returns its JSON record (reports/kube/<name>/). */
export async function chaosRun(name: string, env: Record<string, string>, args: string[]): Promise<RunRecord> {
  const dir = join(repoRoot, 'reports', 'kube', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), join(repoRoot, 'chaos/src/cli.ts'), 'run', '--platform', 'kubernetes', '--report-dir', dir, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  const json = readdirSync(dir).find((f) => f.endsWith('.json'));
  expect(json, `chaos run ${name} wrote no record (exit ${code})`).toBeDefined();
  return JSON.parse(readFileSync(join(dir, json as string), 'utf8')) as RunRecord;
}

/** The record's verdict, with the cluster's evidence kept when it is not a pass. */
export async function expectPass(record: RunRecord, namespace: string, release: string, name: string): Promise<void> {
  if (record.verdict !== 'pass') await keepDiagnostics(namespace, release, `chaos-${name}`);
  expect(record.verdict, record.verdictReasons.join('\n')).toBe('pass');
}

export function expectNoDamage(record: RunRecord): void {
  for (const t of record.trials) {
    expect(t.figures.ackedSessionsLost, 'acknowledged sessions lost').toBe(0);
    expect(t.figures.revocationsUndone, 'revocations undone').toBe(0);
    expect(t.figures.hungRequests, 'hung requests').toBe(0);
  }
}
