// Chaos through the real Kubernetes API on the Redis Cluster topology (ci/cluster-values.yaml: 3
// shards of a primary and a replica) under steady load: the chaos runner deletes the pod of one
// shard's primary, forced (like kill -9) with Prometheus and the chart's alert rules watching, then
// graceful (the preStop's CLUSTER FAILOVER handover); then the chart's in-cluster chaos Job. The
// verdict of every trial: the shard's replica promoted once, no acknowledged session or revocation
// lost, nothing hung, writes back within the Kubernetes tolerance, and the fault invisible to the
// users of the other shards (<= 1 % of their requests failed). Records in reports/kube/cluster-*/.
import { describe, expect, it } from 'vitest';
import { baseRunnerEnv, chaosRun, expectNoDamage, expectPass, secretValue, useChaosRelease } from './support/chaos.js';
import { chartDir, getJson, helm, keepDiagnostics, kubectl } from './support/kube.js';

const ns = 'e2e-cluster-chaos';
const release = 'sa';
const TRIALS = Number(process.env.KUBE_CLUSTER_CHAOS_TRIALS ?? 5);
const GRACEFUL_TRIALS = Number(process.env.KUBE_CLUSTER_CHAOS_GRACEFUL_TRIALS ?? 3);

/** The runner's env as the chart's chaos Job sets it, with the nodes' Service ClusterIPs for the names the node cannot resolve. */
async function runnerEnv(): Promise<Record<string, string>> {
  const services = await getJson<{ items: { metadata: { name: string }; spec: { clusterIP: string } }[] }>([
    '-n', ns, 'get', 'services', '-l', `app.kubernetes.io/instance=${release},app.kubernetes.io/component=redis`,
  ]);
  const nodes = services.items.filter((s) => s.spec.clusterIP !== 'None').map((s) => `${s.spec.clusterIP}:6379`);
  return {
    ...(await baseRunnerEnv(ns, release)),
    SESSION_STORE: 'cluster',
    REDIS_CLUSTER_NODES: nodes.join(','),
    REDIS_PASSWORD: await secretValue(ns, `${release}-session-auth`, 'redis-password'),
  };
}

describe('chaos through the Kubernetes API (Redis Cluster)', () => {
  useChaosRelease(ns, release, 'cluster-values.yaml');

  it(`forced delete of a shard primary's pod, ${TRIALS} trials: that shard fails over, the others never notice, alerts fire`, async () => {
    const record = await chaosRun('cluster-kill-primary-forced', await runnerEnv(), ['--experiment', 'kill-primary', '--topology', 'cluster', '--trials', String(TRIALS), '--observe']);
    expect(record.topology).toBe('cluster');
    expect(record.trials).toHaveLength(TRIALS);
    // The verdict first: a failed one keeps the cluster's evidence (its checks include the lines below).
    await expectPass(record, ns, release, 'cluster-kill-primary-forced');
    expectNoDamage(record);
    for (const t of record.trials) expect(t.fault.slots?.length, 'the fault names the shard').toBeGreaterThan(0);
    const fired = (record.alerts ?? []).filter((a) => a.state === 'firing').map((a) => a.alert);
    expect(fired).toContain('RedisFailoverHappened');
    // Every shard got its primary back within seconds: the critical cluster alert never fired.
    expect(fired).not.toContain('RedisClusterSlotsWithoutPrimary');
  }, 3_600_000);

  it(`graceful delete of a shard primary's pod (CLUSTER FAILOVER handover), ${GRACEFUL_TRIALS} trials`, async () => {
    const record = await chaosRun('cluster-kill-primary-graceful', { ...(await runnerEnv()), CHAOS_DELETE_GRACE_SECONDS: 'default' }, [
      '--experiment', 'kill-primary', '--topology', 'cluster', '--trials', String(GRACEFUL_TRIALS),
    ]);
    expect(record.trials).toHaveLength(GRACEFUL_TRIALS);
    await expectPass(record, ns, release, 'cluster-kill-primary-graceful');
    expectNoDamage(record);
  }, 3_600_000);

  it('the in-cluster chaos Job (helm test, the chaos ServiceAccount, REDIS_CLUSTER_NODES by name) passes', async () => {
    const r = await helm(['test', release, '-n', ns, '--filter', `name=${release}-session-auth-chaos`, '--timeout', '15m'], 1_000_000);
    const logs = await kubectl(['-n', ns, 'logs', `job/${release}-session-auth-chaos`, '--all-containers']);
    if (r.code !== 0) await keepDiagnostics(ns, release, 'cluster-chaos-job');
    expect(r.code, `${r.stderr}\n${logs.stdout}`).toBe(0);
    expect(logs.stdout).toMatch(/kill-primary on kubernetes\/cluster/);
  }, 1_000_000);

  it('refuses an upgrade that would resize the cluster, and leaves the StatefulSet as it was', async () => {
    const r = await helm(['upgrade', release, chartDir, '-n', ns, '--reuse-values', '--set', 'redis.cluster.primaries=4', '--timeout', '2m']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/the release runs 6 cluster nodes and these values ask for 8/);
    const sts = await getJson<{ spec: { replicas: number } }>(['-n', ns, 'get', 'statefulset', `${release}-session-auth-redis`]);
    expect(sts.spec.replicas).toBe(6);
  }, 300_000);
});
