// The chart on a real cluster (deploy/localkube), once per topology of charts/session-auth/ci:
// `helm install --wait`, `helm test`, a login through the Service, an upgrade with a changed value
// (the app pods roll and the session survives, with /auth/me polled throughout), and an uninstall
// that leaves nothing of the release behind but the PVCs the chart keeps on purpose.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthClient } from './support/client.js';
import { chartDir, helm, imageValuesFile, keepDiagnostics, kubectl, must, pods, releaseLeftovers, repoRoot, serviceUrl } from './support/kube.js';

interface Topology {
  name: string;
  valuesFile: string;
  release: string;
  /** The app Service's name (the chart's fullname). */
  service: string;
  extra: string[];
  prepare?: (ns: string) => Promise<void>;
  cleanup?: () => Promise<void>;
}

const common = [
  // Plain HTTP through the ClusterIP: a Secure cookie would not come back.
  '--set-string', 'config.cookieSecure=false',
];

/** What the custom values name but a chart user provides: their Secret, the dashboards namespace, the HTTPRoute CRD. */
async function prepareCustom(ns: string): Promise<void> {
  await kubectl(['create', 'namespace', 'monitoring']);
  await must(
    kubectl(['-n', ns, 'create', 'secret', 'generic', 'identity-session-auth', '--from-literal=keys=e2e-session-key-0123456789abcdef0123456789abcdef', '--from-literal=redis-pw=e2e-redis-password', '--from-literal=sentinel-pw=e2e-sentinel-password']),
    'create the existing Secret',
  );
  await must(kubectl(['apply', '-f', join(repoRoot, 'test/kube/fixtures/httproute-crd.yaml')]), 'apply the HTTPRoute CRD');
  await must(kubectl(['wait', '--for=condition=Established', 'crd/httproutes.gateway.networking.k8s.io', '--timeout=60s']), 'CRD established');
}

const topologies: Topology[] = [
  { name: 'sentinel', valuesFile: 'default-values.yaml', release: 'sa', service: 'sa-session-auth', extra: [] },
  { name: 'standalone', valuesFile: 'standalone-values.yaml', release: 'sa', service: 'sa-session-auth', extra: [] },
  { name: 'replicated', valuesFile: 'replicated-values.yaml', release: 'sa', service: 'sa-session-auth', extra: [] },
  { name: 'cluster', valuesFile: 'cluster-values.yaml', release: 'sa', service: 'sa-session-auth', extra: [] },
  {
    name: 'custom',
    valuesFile: 'custom-values.yaml',
    release: 'custom',
    service: 'sa-custom',
    // The custom values' image names a registry that does not exist; everything else stays as written.
    extra: ['--set', 'image.digest=', '--set', 'chaos.job.enabled=false'],
    prepare: prepareCustom,
    cleanup: async () => {
      await kubectl(['delete', 'namespace', 'monitoring', '--wait=false']);
    },
  },
];

const results: Record<string, Record<string, unknown>> = {};
afterAll(() => {
  const dir = join(repoRoot, 'reports', 'kube');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'releases.json'), `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`);
});

const seconds = (t0: number): number => Number(((Date.now() - t0) / 1000).toFixed(1));

describe.each(topologies)('chart on a real cluster: $name', (t) => {
  const ns = `e2e-${t.name}`;
  const values = ['-f', join(chartDir, 'ci', t.valuesFile), '-f', imageValuesFile(), ...common, ...t.extra];
  const r: Record<string, unknown> = (results[t.name] = {});
  const client = new AuthClient('');
  const email = `e2e-${t.name}@example.com`;
  const password = 'e2e correct horse battery';

  afterAll(async () => {
    await helm(['uninstall', t.release, '-n', ns, '--wait', '--timeout', '2m']);
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
    await t.cleanup?.();
  });

  it('installs with --wait', async () => {
    await must(kubectl(['create', 'namespace', ns]), 'create namespace');
    await t.prepare?.(ns);
    const t0 = Date.now();
    await must(helm(['install', t.release, chartDir, '-n', ns, ...values, '--wait', '--timeout', '8m']), 'helm install');
    r.installSeconds = seconds(t0);
    const all = await pods(ns, `app.kubernetes.io/instance=${t.release}`);
    r.pods = all.length;
    expect(all.every((p) => p.status.phase === 'Running')).toBe(true);
  }, 600_000);

  it('passes helm test (the smoke test Pod: register, login, /auth/me through the Service)', async () => {
    const t0 = Date.now();
    const res = await helm(['test', t.release, '-n', ns, '--filter', `name=${t.service}-smoke-test`, '--timeout', '5m', '--logs']);
    if (res.code !== 0) {
      const evidence = await keepDiagnostics(ns, t.release, `helm-test-${t.name}`);
      throw new Error(`helm test failed (exit ${res.code}):\n${res.stdout}\n${res.stderr}\n${evidence.slice(-6000)}`);
    }
    r.helmTestSeconds = seconds(t0);
  }, 360_000);

  it('logs in through the Service from outside the pods', async () => {
    Object.assign(client, { baseUrl: await serviceUrl(ns, t.service) });
    expect((await client.register(email, password)).status).toBe(201);
    const login = await client.login(email, password);
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    expect((await client.me()).status).toBe(200);
  }, 60_000);

  it('every app pod hashes passwords under SCHED_IDLE (chrt in the image; the service reports its hasher)', async () => {
    // No sticky sessions: a dozen scrapes through the Service reach every pod of the smaller releases and
    // most of the custom one's; each answer must say 1.
    const seen: string[] = [];
    for (let i = 0; i < 12; i++) {
      const text = await (await fetch(`${client.baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      seen.push(/^auth_password_hasher_sched_idle(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 'absent');
    }
    expect(new Set(seen), seen.join(' ')).toEqual(new Set(['1']));
  }, 60_000);

  it('upgrades with a changed value: the app pods roll, the session survives, no request fails', async () => {
    const selector = `app.kubernetes.io/instance=${t.release},app.kubernetes.io/component=app`;
    const before = new Set((await pods(ns, selector)).map((p) => p.metadata.uid));
    // Poll /auth/me with the session all through the rollout.
    let polls = 0;
    const failures: string[] = [];
    let stop = false;
    const poller = (async () => {
      while (!stop) {
        polls++;
        try {
          const a = await client.me();
          if (a.status !== 200) failures.push(`${a.status} ${JSON.stringify(a.body)}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const t0 = Date.now();
    try {
      await must(helm(['upgrade', t.release, chartDir, '-n', ns, ...values, '--set', 'config.logLevel=warn', '--wait', '--timeout', '8m']), 'helm upgrade');
    } finally {
      stop = true;
      await poller;
    }
    r.upgradeSeconds = seconds(t0);
    r.upgradePolls = polls;
    r.upgradeFailedPolls = failures.length;
    const after = (await pods(ns, selector)).filter((p) => !p.metadata.deletionTimestamp);
    expect(after.length).toBeGreaterThan(0);
    expect(after.some((p) => before.has(p.metadata.uid)), 'every app pod was replaced').toBe(false);
    expect((await client.me()).status).toBe(200);
    expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
  }, 600_000);

  it('uninstalls and leaves nothing but the PVCs and the last test Pod, both on purpose', async () => {
    const t0 = Date.now();
    await must(helm(['uninstall', t.release, '-n', ns, '--wait', '--timeout', '3m']), 'helm uninstall');
    // helm's --wait covers the objects it deleted, not their pods, which end their grace periods
    // (preStop, graceful shutdown) after it returns.
    const kinds = 'all,configmap,secret,serviceaccount,role,rolebinding,networkpolicy,poddisruptionbudget,ingress,pvc';
    const hook = `pod/${t.service}-smoke-test`;
    const unexpected = (left: string[]) => left.filter((o) => !o.startsWith('persistentvolumeclaim/') && o !== hook);
    let left = await releaseLeftovers(ns, t.release, kinds);
    for (let i = 0; i < 120 && unexpected(left).length; i++) {
      await new Promise((res) => setTimeout(res, 1_000));
      left = await releaseLeftovers(ns, t.release, kinds);
    }
    r.uninstallSeconds = seconds(t0);
    expect(unexpected(left)).toEqual([]);
    // Kept on purpose: the PVCs (persistentVolumeClaimRetentionPolicy Retain, so a reinstall finds
    // its sessions again) and the smoke test's Pod (Helm never deletes test hooks on uninstall;
    // the chart keeps it after success so that `helm test --logs` can read it).
    r.retainedPvcs = left.filter((o) => o.startsWith('persistentvolumeclaim/')).length;
    r.keptTestPod = left.includes(hook);
    await must(kubectl(['-n', ns, 'delete', 'pod,pvc', '-l', `app.kubernetes.io/instance=${t.release}`, '--wait=true']), 'delete what the chart keeps');
    expect(await releaseLeftovers(ns, t.release, kinds)).toEqual([]);
  }, 300_000);
});
