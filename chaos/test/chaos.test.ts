/**
 * Real processes: redis-server / redis-sentinel via @session-auth/topology, the auth service
 * (services/auth/dist/main.js, built by `npm run build`), the ingress. Short windows to stay
 * well under ~90 s for the file; 1 app replica is enough to see the store's behaviour.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '@session-auth/topology';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster } from '../src/cluster/index.js';
import { RECOVERY_TOLERANCE_MS } from '../src/experiments/catalog.js';
import { runExperiment } from '../src/experiments/runner.js';
import type { RunRecord } from '../src/record.js';
import { LocalPlatform } from '../src/platforms/local.js';
import { writeRunReport } from '../src/report/write.js';
import { repoRoot } from '../src/util.js';

const built = existsSync(join(repoRoot(), 'services/auth/dist/main.js'));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function runOnce(
  topology: 'standalone' | 'sentinel' | 'replicated',
  rollbackDelayMs: number,
  observeMs: number,
  experiment: 'kill-primary' | 'restart-primary-empty' | 'restart-primary-empty-guarded' = 'kill-primary',
  observe = false,
  extra: { appEnv?: Record<string, string>; replicas?: number } = {},
): Promise<{ record: RunRecord; pids: number[]; reportDir: string }> {
  // The cluster runs the compiled service; npm test builds it before vitest runs.
  if (!built) throw new Error('services/auth/dist/main.js is missing: run `npm run build` first (npm test does)');
  const dir = mkdtempSync(join(tmpdir(), `chaos-test-${topology}-`));
  dirs.push(dir);
  // The guarded restart shows the restart guard alone: durable writes wait for both replicas
  // (REDIS_WAIT_REPLICAS = the replica count), closing the documented gap where a write confirmed
  // by one replica is lost when Sentinel promotes the other (it lost 3 sessions in about one run
  // in three on a loaded machine with the default of 1).
  const appEnv = { ...(experiment === 'restart-primary-empty-guarded' ? { REDIS_WAIT_REPLICAS: '2' } : {}), ...extra.appEnv };
  const cluster = await startCluster({ topology, replicas: extra.replicas ?? 1, runDir: join(dir, 'run'), observe, appEnv });
  const pids = cluster.processes().filter((p) => p.kind !== 'ingress' && p.kind !== 'prometheus').map((p) => p.pid).filter((p): p is number => typeof p === 'number');
  try {
    const record = await runExperiment({
      platform: new LocalPlatform(cluster),
      experiment,
      users: 8,
      warmupMs: 1_000,
      rollbackDelayMs,
      observeMs,
      prometheusUrl: cluster.prometheus?.url,
    });
    const reportDir = join(dir, 'reports');
    writeRunReport(record, reportDir);
    return { record, pids, reportDir };
  } finally {
    await cluster.stop();
  }
}

function assertReports(reportDir: string, record: RunRecord): void {
  const base = `kill-primary-${record.topology}-`;
  const files = existsSync(reportDir) ? readdirSync(reportDir).filter((f) => f.startsWith(base)) : [];
  const json = files.find((f) => f.endsWith('.json'));
  const html = files.find((f) => f.endsWith('.html'));
  expect(json).toBeDefined();
  expect(html).toBeDefined();
  const parsed = JSON.parse(readFileSync(join(reportDir, json as string), 'utf8')) as RunRecord;
  expect(parsed.trials[0]?.figures).toBeDefined();
  expect(parsed.samples.length).toBeGreaterThan(50);
  const page = readFileSync(join(reportDir, html as string), 'utf8');
  expect(page).toContain('<svg');
  expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/); // self-contained
}

describe.sequential('kill-primary with real processes', () => {
  it('standalone: writes are lost until Redis is restarted; no acked session lost (AOF), nothing hangs', async () => {
    const { record, pids, reportDir } = await runOnce('standalone', 3_000, 5_000);
    const t = record.trials[0];
    expect(t, record.verdictReasons.join('\n')).toBeDefined();
    const f = t!.figures;
    expect(record.hypothesisBefore.pass).toBe(true);
    expect(f.failedLogins).toBeGreaterThan(0);
    expect(f.rollbackMs).not.toBeNull();
    // No login succeeds before the restart; writes recover promptly after it.
    expect(f.firstWriteOkMs).not.toBeNull();
    expect(f.firstWriteOkMs!).toBeGreaterThanOrEqual(f.rollbackMs!);
    expect(f.writeRecoveryMs).not.toBeNull();
    expect(f.writeRecoveryMs!).toBeLessThanOrEqual(f.rollbackMs! + RECOVERY_TOLERANCE_MS);
    expect(f.hungRequests).toBe(0);
    expect(f.ackedSessionsLost).toBe(0);
    expect(f.revocationsUndone).toBe(0);
    expect(record.verdict, record.verdictReasons.join('\n')).toBe('pass');
    assertReports(reportDir, record);
    expect(pids.length).toBe(2);
    expect(pids.filter(pidAlive)).toEqual([]);
  }, 60_000);

  it(`sentinel: writes recover within ${RECOVERY_TOLERANCE_MS} ms, zero acked sessions lost, zero revocations undone, zero hung; the failover alert fires`, async () => {
    // The old node comes back at +4 s, as in the experiment's default: at +3 s it sometimes
    // returned (with its old config: primary) before a loaded machine had finished the failover,
    // and the Sentinels failed over twice. On Kubernetes the chart's init step prevents exactly
    // that; the local rollback is a plain restart.
    const { record, pids, reportDir } = await runOnce('sentinel', 4_000, 6_000, 'kill-primary', true);
    const f = record.trials[0]!.figures;
    expect(record.hypothesisBefore.pass).toBe(true);
    expect(f.switchMs).not.toBeNull();
    expect(f.detectionMs).not.toBeNull();
    expect(f.detectionMs!).toBeLessThan(f.switchMs!);
    expect(f.writeRecoveryMs).not.toBeNull();
    // On failure, say why: the verdict's reasons and the Sentinel events (a second failover shows
    // as a second +switch-master, a TILT as +tilt), since CI keeps only this output.
    const why = `${record.verdictReasons.join('\n')}\nfailovers: ${f.failovers}\n${record.trials[0]!.events
      .filter((e) => /switch-master|odown|tilt|convert-to-slave/.test(e.channel))
      .map((e) => `${e.at - record.trials[0]!.fault.at} ms ${e.source} ${e.channel} ${e.message}`)
      .join('\n')}`;
    expect(f.writeRecoveryMs!, why).toBeLessThanOrEqual(RECOVERY_TOLERANCE_MS);
    expect(f.failovers, why).toBe(1);
    expect(f.ackedSessions).toBeGreaterThan(0);
    expect(f.ackedSessionsLost).toBe(0);
    expect(f.revocationsUndone).toBe(0);
    expect(f.hungRequests).toBe(0);
    // A password change acknowledged right before the kill: its 3 revocations (2 other sessions,
    // the rotated-out token) are among those verified after the failover.
    expect(record.trials[0]!.checks.find((c) => c.name.startsWith('password change'))).toMatchObject({ pass: true, actual: '200, 2 revoked' });
    expect(f.revocations).toBeGreaterThanOrEqual(3);
    expect(record.hypothesisAfter?.pass).toBe(true);
    expect(record.verdict, record.verdictReasons.join('\n')).toBe('pass');
    assertReports(reportDir, record);
    // A real Prometheus with the chart's rules saw the failover: the alert without a `for:` fired.
    const failover = record.alerts?.find((a) => a.alert === 'RedisFailoverHappened');
    expect(failover, JSON.stringify(record.alerts)).toMatchObject({ state: 'firing', severity: 'info' });
    expect(failover!.firstFiringAt!).toBeGreaterThan(record.trials[0]!.fault.at);
    expect(pids.length).toBe(7); // 3 redis + 3 sentinels + 1 app
    expect(pids.filter(pidAlive)).toEqual([]);
  }, 75_000);

  it('sentinel with the near cache on, 2 app replicas: zero acked sessions lost, zero revocations undone through the failover', async () => {
    // Revocations made through one replica are verified through the ingress on both: a cached
    // copy that outlived its revocation, the failover's cache flush or its bound would show here.
    const { record, pids } = await runOnce('sentinel', 4_000, 6_000, 'kill-primary', false, { appEnv: { SESSION_NEAR_CACHE: 'true' }, replicas: 2 });
    const f = record.trials[0]!.figures;
    expect(f.writeRecoveryMs).not.toBeNull();
    expect(f.ackedSessions).toBeGreaterThan(0);
    expect(f.ackedSessionsLost).toBe(0);
    expect(f.revocations).toBeGreaterThanOrEqual(3);
    expect(f.revocationsUndone).toBe(0);
    expect(f.hungRequests).toBe(0);
    expect(record.verdict, record.verdictReasons.join('\n')).toBe('pass');
    expect(pids.filter(pidAlive)).toEqual([]);
  }, 75_000);

  it('restart-primary-empty: unguarded, the empty primary wipes its replicas; guarded as the chart\'s init step does, nothing is lost', async () => {
    const unguarded = (await runOnce('sentinel', 0, 5_000, 'restart-primary-empty')).record.trials[0]!.figures;
    expect(unguarded.ackedSessions).toBeGreaterThan(0);
    expect(unguarded.ackedSessionsLost).toBeGreaterThan(0);
    const guarded = await runOnce('sentinel', 0, 5_000, 'restart-primary-empty-guarded');
    const g = guarded.record.trials[0]!.figures;
    expect(g.switchMs).not.toBeNull();
    expect(g.ackedSessions).toBeGreaterThan(0);
    expect(g.ackedSessionsLost).toBe(0);
    expect(g.revocationsUndone).toBe(0);
    expect(guarded.record.verdict, guarded.record.verdictReasons.join('\n')).toBe('pass');
  }, 120_000);

  it('replicated: validation survives the loss of Redis (0 failed /auth/me while it is down), writes come back after the restart, nothing lost', async () => {
    const { record } = await runOnce('replicated', 4_000, 7_000);
    const f = record.trials[0]!.figures;
    expect(f.failedLogins).toBeGreaterThan(0);
    expect(f.failedReadsBeforeRollback).toBe(0);
    expect(f.ackedSessions).toBeGreaterThan(0);
    expect(f.ackedSessionsLost).toBe(0);
    expect(f.revocationsUndone).toBe(0);
    expect(f.hungRequests).toBe(0);
    expect(record.verdict, record.verdictReasons.join('\n')).toBe('pass');
  }, 90_000);
});
