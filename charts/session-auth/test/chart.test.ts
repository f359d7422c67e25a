// Chart tests: helm lint --strict, helm template with default / standalone / non-default values,
// every rendered document validated against its Kubernetes schema, and the properties that matter.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseDocument, isMap, isScalar, type Pair, type YAMLMap } from 'yaml';
import {
  allContainers,
  byKind,
  chartDir,
  helm,
  locateHelm,
  one,
  podSpec,
  repoRoot,
  template,
  validateObject,
  type K8sObject,
} from './helm.ts';

const MON = ['--api-versions', 'monitoring.coreos.com/v1'];
const valuesFiles = {
  default: 'ci/default-values.yaml',
  standalone: 'ci/standalone-values.yaml',
  custom: 'ci/custom-values.yaml',
  replicated: 'ci/replicated-values.yaml',
  cluster: 'ci/cluster-values.yaml',
} as const;

const rendered: Record<string, K8sObject[]> = {};

beforeAll(async () => {
  locateHelm(); // fails early with a clear message when helm is missing
  const runs: Array<[string, string[]]> = [
    ['default', ['-f', valuesFiles.default, ...MON]],
    ['defaultNoMonitoring', ['-f', valuesFiles.default]],
    ['defaultIngress', ['-f', valuesFiles.default, '--set', 'ingress.enabled=true']],
    ['sticky', ['-f', valuesFiles.default, '--set', 'ingress.enabled=true', '--set', 'ingress.stickySessions=true']],
    ['standalone', ['-f', valuesFiles.standalone]],
    ['replicated', ['-f', valuesFiles.replicated]],
    ['custom', ['-f', valuesFiles.custom, ...MON]],
    ['configChanged', ['-f', valuesFiles.default, '--set', 'config.logLevel=debug']],
    ['chaosJob', ['-f', valuesFiles.default, '--set', 'chaos.job.enabled=true']],
    ['cluster', ['-f', valuesFiles.cluster, ...MON]],
    [
      'clusterCustom',
      [
        '-f', valuesFiles.cluster, '--set', 'redis.cluster.primaries=4', '--set', 'redis.cluster.replicasPerPrimary=2', '--set', 'redis.port=6380',
        '--set', 'redis.persistence.enabled=false', '--set', 'networkPolicy.enabled=true', '--set', 'chaos.job.enabled=true', '--set', 'clusterDomain=k8s.example.internal',
      ],
    ],
  ];
  const results = await Promise.all(runs.map(([, args]) => template(args)));
  runs.forEach(([name], i) => (rendered[name] = results[i]!));
}, 60_000);

describe('helm lint --strict', () => {
  it.each(Object.entries(valuesFiles))('passes with %s values', async (_name, file) => {
    const res = await helm(['lint', '--strict', '.', '-f', file]);
    expect(res.stderr + res.stdout).toContain('0 chart(s) failed');
    expect(res.code).toBe(0);
  });
});

describe('rendered documents are valid Kubernetes objects', () => {
  it.each(['default', 'standalone', 'replicated', 'custom', 'sticky', 'chaosJob', 'cluster', 'clusterCustom'])('%s: every document validates', async (name) => {
    const objs = rendered[name]!;
    expect(objs.length).toBeGreaterThan(5);
    for (const obj of objs) await validateObject(obj);
  });

  it('the validator really rejects a broken object', async () => {
    const objs = structuredClone(rendered.default!);
    const dep = one(objs, 'Deployment');
    dep.spec.template.spec.containers[0].ports[0].containerPort = 'three thousand';
    await expect(validateObject(dep)).rejects.toThrow(/containerPort/);
  });
});

describe('kinds per values file', () => {
  const kinds = (name: string): string[] => [...new Set(rendered[name]!.map((o) => o.kind))].sort();

  it('default (Sentinel, monitoring CRDs present)', () => {
    expect(kinds('default')).toEqual(
      ['ConfigMap', 'Deployment', 'Pod', 'PodDisruptionBudget', 'PrometheusRule', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount', 'ServiceMonitor', 'StatefulSet'].sort(),
    );
  });

  it('ServiceMonitor and PrometheusRule only when the cluster serves monitoring.coreos.com/v1', () => {
    expect(byKind(rendered.defaultNoMonitoring!, 'ServiceMonitor')).toHaveLength(0);
    expect(byKind(rendered.defaultNoMonitoring!, 'PrometheusRule')).toHaveLength(0);
    expect(byKind(rendered.default!, 'ServiceMonitor')).toHaveLength(1);
  });

  it('custom values render ingress, HTTPRoute, HPA, NetworkPolicies and the chaos Job, no Secret (existingSecret)', () => {
    const k = kinds('custom');
    for (const kind of ['Ingress', 'HTTPRoute', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'Job']) expect(k).toContain(kind);
    expect(k).not.toContain('Secret');
  });
});

describe('auth Deployment', () => {
  it.each(['default', 'custom'])('%s: probes hit /healthz and /readyz on the container port', (name) => {
    const objs = rendered[name]!;
    const dep = one(objs, 'Deployment');
    const c = dep.spec.template.spec.containers[0];
    const cm = one(objs, 'ConfigMap', dep.spec.template.spec.containers[0].envFrom[0].configMapRef.name);
    const port = c.ports.find((p: { name: string }) => p.name === 'http');
    expect(String(port.containerPort)).toBe(cm.data.PORT);
    for (const [probe, p] of [
      ['livenessProbe', '/healthz'],
      ['readinessProbe', '/readyz'],
      ['startupProbe', '/healthz'],
    ] as const) {
      expect(c[probe].httpGet.path).toBe(p);
      const target = c[probe].httpGet.port;
      expect(target === 'http' || target === port.containerPort).toBe(true);
    }
    if (name === 'custom') expect(port.containerPort).toBe(8080);
  });

  it.each(['default', 'custom'])('%s: SESSION_KEYS and Redis passwords come from the Secret', (name) => {
    const objs = rendered[name]!;
    const dep = one(objs, 'Deployment');
    const env: Array<{ name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }> =
      dep.spec.template.spec.containers[0].env;
    const ref = (n: string) => env.find((e) => e.name === n)?.valueFrom?.secretKeyRef;
    if (name === 'default') {
      const secret = one(objs, 'Secret');
      for (const n of ['SESSION_KEYS', 'REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD']) {
        const r = ref(n);
        expect(r?.name, n).toBe(secret.metadata.name);
        expect(Object.keys(secret.data)).toContain(r!.key);
      }
    } else {
      expect(ref('SESSION_KEYS')).toEqual({ name: 'identity-session-auth', key: 'keys' });
      expect(ref('REDIS_PASSWORD')).toEqual({ name: 'identity-session-auth', key: 'redis-pw' });
      expect(ref('REDIS_SENTINEL_PASSWORD')).toEqual({ name: 'identity-session-auth', key: 'sentinel-pw' });
    }
  });

  it.each(['default', 'custom'])('%s: env of the Sentinel topology (contracts.md names)', (name) => {
    const objs = rendered[name]!;
    const cm = one(byKind(objs, 'ConfigMap').filter((c) => c.data?.SESSION_STORE) as K8sObject[], 'ConfigMap');
    expect(cm.data.SESSION_STORE).toBe('sentinel');
    expect(cm.data.TRUST_PROXY).toBe('true');
    expect(cm.data.REDIS_URL).toBeUndefined();
    const sts = one(objs, 'StatefulSet', name === 'custom' ? 'sa-custom-sentinel' : 'sa-test-session-auth-sentinel');
    const domain = name === 'custom' ? 'k8s.example.internal' : 'cluster.local';
    const port = name === 'custom' ? 26380 : 26379;
    const expected = Array.from(
      { length: sts.spec.replicas },
      (_, i) => `${sts.metadata.name}-${i}.auth-ns.svc.${domain}:${port}`,
    );
    // Each name is the pod's own ClusterIP Service (redis.podServices), selecting just that pod
    // and publishing it before it is ready.
    expect(cm.data.REDIS_SENTINELS.split(',')).toEqual(expected);
    for (let i = 0; i < sts.spec.replicas; i++) {
      const svc = one(objs, 'Service', `${sts.metadata.name}-${i}`);
      expect(svc.spec.clusterIP).toBeUndefined();
      expect(svc.spec.publishNotReadyAddresses).toBe(true);
      expect(svc.spec.selector['statefulset.kubernetes.io/pod-name']).toBe(`${sts.metadata.name}-${i}`);
      expect(svc.spec.ports[0].port).toBe(port);
    }
    expect(cm.data.REDIS_MASTER_NAME).toBe(name === 'custom' ? 'sessions' : 'mymaster');
    // the headless Service named by the StatefulSet exists and publishes not-ready addresses
    const headless = one(objs, 'Service', sts.spec.serviceName);
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
  });

  it.each(['default', 'standalone', 'custom', 'cluster'])('%s: every env var the app gets is one of docs/contracts.md', (name) => {
    const contracts = readFileSync(path.join(repoRoot, 'docs/contracts.md'), 'utf8');
    const section = contracts.slice(contracts.indexOf('## Configuration'), contracts.indexOf('## Metrics'));
    const known = new Set([...section.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]));
    const objs = rendered[name]!;
    const dep = one(objs, 'Deployment');
    const cm = one(objs, 'ConfigMap', dep.spec.template.spec.containers[0].envFrom[0].configMapRef.name);
    const extra = name === 'custom' ? ['ARGON2_MAX_CONCURRENCY', 'LOGIN_MAX_ATTEMPTS_PER_IP'] : [];
    const names = [...Object.keys(cm.data), ...dep.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)];
    expect(names.filter((n) => !known.has(n) && !extra.includes(n))).toEqual([]);
    // `auto` leaves COOKIE_SECURE unset so that the app's default applies
    if (name === 'default') expect(cm.data.COOKIE_SECURE).toBeUndefined();
  });

  it.each(['default', 'custom'])('%s: grace period covers preStop + SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS', (name) => {
    const objs = rendered[name]!;
    const dep = one(objs, 'Deployment');
    const spec = dep.spec.template.spec;
    const cm = one(objs, 'ConfigMap', spec.containers[0].envFrom[0].configMapRef.name);
    const sleep = Number(spec.containers[0].lifecycle.preStop.exec.command[1]);
    const needed = sleep + (Number(cm.data.SHUTDOWN_DELAY_MS) + Number(cm.data.SHUTDOWN_TIMEOUT_MS)) / 1000;
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(needed);
    expect(spec.terminationGracePeriodSeconds).toBeLessThanOrEqual(needed + 10);
  });

  it('checksum/config changes when a config value changes, and only then', () => {
    const ann = (name: string) => one(rendered[name]!, 'Deployment').spec.template.metadata.annotations;
    expect(ann('default')['checksum/config']).toMatch(/^[a-f0-9]{64}$/);
    expect(ann('configChanged')['checksum/config']).not.toBe(ann('default')['checksum/config']);
    expect(ann('defaultNoMonitoring')['checksum/config']).toBe(ann('default')['checksum/config']);
    // generated secrets are random in `helm template`, but the checksum must not churn because of it
    expect(ann('defaultNoMonitoring')['checksum/secret']).toBe(ann('default')['checksum/secret']);
  });

  it('topology spread constraints select the auth pods', () => {
    const dep = one(rendered.default!, 'Deployment');
    const tsc = dep.spec.template.spec.topologySpreadConstraints;
    expect(tsc.length).toBeGreaterThan(0);
    for (const c of tsc) expect(c.labelSelector.matchLabels).toEqual(dep.spec.selector.matchLabels);
  });
});

describe('hardening', () => {
  it.each(['default', 'standalone', 'custom', 'chaosJob', 'cluster', 'clusterCustom'])('%s: every container is locked down', (name) => {
    for (const obj of rendered[name]!.filter((o) => ['Deployment', 'StatefulSet', 'Job', 'Pod'].includes(o.kind))) {
      const spec = podSpec(obj);
      expect(spec.securityContext.runAsNonRoot, obj.metadata.name).toBe(true);
      expect(spec.securityContext.seccompProfile.type).toBe('RuntimeDefault');
      for (const c of allContainers(obj)) {
        const sc = c.securityContext;
        expect(sc.allowPrivilegeEscalation, `${obj.metadata.name}/${c.name}`).toBe(false);
        expect(sc.readOnlyRootFilesystem, `${obj.metadata.name}/${c.name}`).toBe(true);
        expect(sc.capabilities.drop).toEqual(['ALL']);
        expect(c.resources?.limits?.memory, `${obj.metadata.name}/${c.name}`).toBeDefined();
      }
    }
  });
});

describe('selectors', () => {
  it.each(['default', 'standalone', 'custom', 'chaosJob', 'cluster', 'clusterCustom'])('%s: every selector matches its pods', (name) => {
    const objs = rendered[name]!;
    const workloads = objs.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
    const podLabelSets = workloads.map((w) => w.spec.template.metadata.labels as Record<string, string>);
    const matches = (sel: Record<string, string>, labels: Record<string, string>) =>
      Object.entries(sel).every(([k, v]) => labels[k] === v);
    for (const w of workloads) {
      expect(matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels), w.metadata.name).toBe(true);
    }
    // The StatefulSet controller adds statefulset.kubernetes.io/pod-name=<sts>-<ordinal> to each pod.
    const podNames = new Map(workloads.filter((w) => w.kind === 'StatefulSet').map((w) => [w.spec.template.metadata.labels, { sts: w.metadata.name, replicas: w.spec.replicas }]));
    for (const svc of byKind(objs, 'Service')) {
      const { 'statefulset.kubernetes.io/pod-name': podName, ...sel } = svc.spec.selector as Record<string, string>;
      const hits = podLabelSets.filter((l) => matches(sel, l));
      expect(hits, svc.metadata.name).toHaveLength(1);
      if (podName !== undefined) {
        const owner = podNames.get(hits[0]!);
        const ordinal = Number(podName.slice((owner?.sts.length ?? 0) + 1));
        expect(owner && podName.startsWith(`${owner.sts}-`) && ordinal < owner.replicas, `${svc.metadata.name} selects an existing pod`).toBe(true);
      }
    }
    for (const pdb of byKind(objs, 'PodDisruptionBudget')) {
      expect(podLabelSets.filter((l) => matches(pdb.spec.selector.matchLabels, l)), pdb.metadata.name).toHaveLength(1);
    }
    for (const sm of byKind(objs, 'ServiceMonitor')) {
      const appSvc = byKind(objs, 'Service').filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels ?? {}));
      expect(appSvc).toHaveLength(1);
      expect(appSvc[0]!.spec.ports.map((p: { name: string }) => p.name)).toContain(sm.spec.endpoints[0].port);
    }
  });
});

describe('ingress affinity', () => {
  const stickyKeys = (o: K8sObject) =>
    Object.keys(o.metadata.annotations ?? {}).filter((k) => /sticky|affinity|cookie-persistence|session-cookie/.test(k));

  it('no sticky affinity by default', () => {
    const objs = rendered.defaultIngress!;
    expect(stickyKeys(one(objs, 'Ingress'))).toEqual([]);
    for (const svc of byKind(objs, 'Service')) {
      expect(stickyKeys(svc)).toEqual([]);
      expect(svc.spec.sessionAffinity ?? 'None').toBe('None');
    }
  });

  it('ingress.stickySessions=true turns cookie affinity on (Ingress and, for Traefik, the Service)', () => {
    const objs = rendered.sticky!;
    const ing = one(objs, 'Ingress');
    expect(ing.metadata.annotations!['nginx.ingress.kubernetes.io/affinity']).toBe('cookie');
    expect(ing.metadata.annotations!['haproxy.org/cookie-persistence']).toBe('sa_route');
    const svc = one(objs, 'Service', 'sa-test-session-auth');
    expect(svc.metadata.annotations!['traefik.ingress.kubernetes.io/service.sticky.cookie']).toBe('true');
  });

  it('ingress className and backend come from values', () => {
    const ing = one(rendered.custom!, 'Ingress');
    expect(ing.spec.ingressClassName).toBe('haproxy');
    expect(ing.spec.rules[0].http.paths[0].backend.service.name).toBe('sa-custom');
    const route = one(rendered.custom!, 'HTTPRoute');
    expect(route.spec.rules[0].backendRefs[0]).toEqual({ name: 'sa-custom', port: 8443 });
  });
});

describe('redis topology', () => {
  it('sentinel: data nodes + 3 sentinels, AOF on PVCs, hostnames announced', () => {
    const objs = rendered.default!;
    const redis = one(objs, 'StatefulSet', 'sa-test-session-auth-redis');
    const sentinel = one(objs, 'StatefulSet', 'sa-test-session-auth-sentinel');
    expect(redis.spec.replicas).toBe(3);
    expect(sentinel.spec.replicas).toBe(3);
    expect(redis.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    const scripts = one(objs, 'ConfigMap', 'sa-test-session-auth-redis-scripts').data;
    expect(scripts['redis-init.sh']).toContain('SENTINEL get-master-addr-by-name');
    expect(scripts['redis-init.sh']).toContain('replica-announce-ip $MY_HOST');
    expect(scripts['redis-init.sh']).toContain('min-replicas-to-write');
    expect(scripts['sentinel-init.sh']).toContain('sentinel announce-hostnames yes');
    expect(scripts['sentinel-init.sh']).toContain('sentinel resolve-hostnames yes');
    const env = Object.fromEntries(
      sentinel.spec.template.spec.initContainers[0].env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    expect(env.QUORUM).toBe('2');
    expect(Number(env.DOWN_AFTER_MS)).toBeLessThanOrEqual(2000);
  });

  it('standalone: exactly one redis, no sentinel', () => {
    const objs = rendered.standalone!;
    const sts = byKind(objs, 'StatefulSet');
    expect(sts).toHaveLength(1);
    expect(sts[0]!.spec.replicas).toBe(1);
    expect(sts[0]!.spec.template.metadata.labels['app.kubernetes.io/component']).toBe('redis');
    expect(objs.filter((o) => /sentinel/i.test(o.metadata.name))).toEqual([]);
    const cm = one(objs, 'ConfigMap', 'sa-test-session-auth');
    expect(cm.data.SESSION_STORE).toBe('redis');
    expect(cm.data.REDIS_URL).toBe('redis://sa-test-session-auth-redis.auth-ns.svc.cluster.local:6379');
    expect(cm.data.REDIS_SENTINELS).toBeUndefined();
    expect(cm.data.REDIS_WAIT_REPLICAS).toBe('0');
    one(objs, 'Service', 'sa-test-session-auth-redis');
  });

  it('replicated: one Redis for users and the change stream, SESSION_STORE=replicated on every pod', () => {
    const objs = rendered.replicated!;
    const sts = byKind(objs, 'StatefulSet');
    expect(sts).toHaveLength(1);
    expect(objs.filter((o) => /sentinel/i.test(o.metadata.name))).toEqual([]);
    const cm = byKind(objs, 'ConfigMap').find((c) => c.data?.SESSION_STORE)!;
    expect(cm.data.SESSION_STORE).toBe('replicated');
    expect(cm.data.REDIS_URL).toMatch(/^redis:\/\/.+-redis\..+:6379$/);
    expect(cm.data.REPLICATED_MAX_STALENESS_SECONDS).toBe('30');
    expect(cm.data.REPLICATED_STREAM_MAXLEN).toBe('100000');
  });

  it('custom: names, ports and replica counts follow the values', () => {
    const objs = rendered.custom!;
    expect(one(objs, 'StatefulSet', 'sa-custom-redis').spec.replicas).toBe(5);
    expect(one(objs, 'StatefulSet', 'sa-custom-sentinel').spec.replicas).toBe(5);
    expect(one(objs, 'StatefulSet', 'sa-custom-redis').spec.volumeClaimTemplates).toBeUndefined();
    const redisPort = one(objs, 'StatefulSet', 'sa-custom-redis').spec.template.spec.containers[0].ports[0].containerPort;
    expect(redisPort).toBe(6380);
    expect(one(objs, 'Deployment').spec.replicas).toBeUndefined(); // HPA owns it
    expect(one(objs, 'HorizontalPodAutoscaler').spec.minReplicas).toBe(5);
  });
});

describe('redis topology: cluster', () => {
  const env = (c: { env: Array<{ name: string; value?: string }> }) => Object.fromEntries(c.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));

  it('one StatefulSet of primaries x (1 + replicas) cluster nodes, no Sentinel, AOF and nodes.conf on the PVC', () => {
    const objs = rendered.cluster!;
    const sts = byKind(objs, 'StatefulSet');
    expect(sts.map((o) => o.metadata.name)).toEqual(['sa-test-session-auth-redis']);
    expect(sts[0]!.spec.replicas).toBe(6);
    expect(one(rendered.clusterCustom!, 'StatefulSet').spec.replicas).toBe(12);
    expect(objs.filter((o) => /sentinel/i.test(o.metadata.name))).toEqual([]);
    expect(sts[0]!.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    // Without persistence the data dir (AOF and nodes.conf) is the pod's emptyDir.
    const custom = one(rendered.clusterCustom!, 'StatefulSet');
    expect(custom.spec.volumeClaimTemplates).toBeUndefined();
    expect(custom.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data')).toEqual({ name: 'data', emptyDir: {} });
  });

  it('init step, bootstrap sidecar and preStop are the cluster scripts; the bus port is the data port + 10000', () => {
    for (const [name, port] of [['cluster', 6379], ['clusterCustom', 6380]] as const) {
      const spec = one(rendered[name]!, 'StatefulSet').spec.template.spec;
      expect(spec.initContainers[0].command).toEqual(['sh', '/scripts/cluster-init.sh']);
      const [redis, sidecar] = spec.containers;
      expect(redis.lifecycle.preStop.exec.command).toEqual(['sh', '/scripts/cluster-prestop.sh']);
      expect(redis.ports).toEqual([
        { name: 'redis', containerPort: port, protocol: 'TCP' },
        { name: 'cluster-bus', containerPort: port + 10000, protocol: 'TCP' },
      ]);
      expect(sidecar.name).toBe('cluster-bootstrap');
      expect(sidecar.command).toEqual(['sh', '/scripts/cluster-bootstrap.sh']);
      expect(sidecar.env.find((e: { name: string }) => e.name === 'REDISCLI_AUTH').valueFrom.secretKeyRef.key).toBe('redis-password');
      const init = env(spec.initContainers[0]);
      expect(init).toMatchObject({ TOPOLOGY: 'cluster', CLUSTER_BUS_PORT: String(port + 10000), CLUSTER_NODE_TIMEOUT_MS: '1500', MIN_REPLICAS_TO_WRITE: '0', REDIS_SUBDOMAIN: '' });
      expect(env(sidecar)).toMatchObject(name === 'cluster' ? { REDIS_REPLICAS: '6', CLUSTER_REPLICAS_PER_PRIMARY: '1' } : { REDIS_REPLICAS: '12', CLUSTER_REPLICAS_PER_PRIMARY: '2' });
    }
    const scripts = one(rendered.cluster!, 'ConfigMap', 'sa-test-session-auth-redis-scripts').data;
    expect(Object.keys(scripts).sort()).toEqual(['cluster-bootstrap.sh', 'cluster-init.sh', 'cluster-prestop.sh', 'redis-extra.conf', 'redis-init.sh', 'redis-lib.sh', 'redis-prestop.sh']);
    for (const line of ['cluster-enabled yes', 'cluster-config-file nodes.conf', 'cluster-require-full-coverage no', 'cluster-announce-ip $MY_IP', 'cluster-announce-hostname $MY_HOST', 'cluster-announce-bus-port $CLUSTER_BUS_PORT']) {
      expect(scripts['cluster-init.sh'], line).toContain(`echo "${line}"`);
    }
    expect(scripts['cluster-bootstrap.sh']).toContain('--cluster create $addrs --cluster-replicas "$CLUSTER_REPLICAS_PER_PRIMARY" --cluster-yes');
    expect(scripts['cluster-prestop.sh']).toContain('CLUSTER FAILOVER');
  });

  it('every node has its own ClusterIP Service with the data and the bus port, published before it is ready', () => {
    const objs = rendered.cluster!;
    for (let i = 0; i < 6; i++) {
      const svc = one(objs, 'Service', `sa-test-session-auth-redis-${i}`);
      expect(svc.spec.clusterIP).toBeUndefined();
      expect(svc.spec.publishNotReadyAddresses).toBe(true);
      expect(svc.spec.selector['statefulset.kubernetes.io/pod-name']).toBe(`sa-test-session-auth-redis-${i}`);
      expect(svc.spec.ports.map((p: { name: string; port: number }) => [p.name, p.port])).toEqual([['redis', 6379], ['cluster-bus', 16379]]);
    }
    // No Service in front of "the" Redis: a cluster has none.
    expect(byKind(objs, 'Service').map((o) => o.metadata.name)).not.toContain('sa-test-session-auth-redis');
    expect(one(objs, 'PodDisruptionBudget', 'sa-test-session-auth-redis').spec.maxUnavailable).toBe(1);
  });

  it('the app gets SESSION_STORE=cluster, every node as REDIS_CLUSTER_NODES, WAIT 1, and the Redis password only', () => {
    for (const [name, nodes, port, domain] of [['cluster', 6, 6379, 'cluster.local'], ['clusterCustom', 12, 6380, 'k8s.example.internal']] as const) {
      const objs = rendered[name]!;
      const dep = one(objs, 'Deployment');
      const cm = one(objs, 'ConfigMap', dep.spec.template.spec.containers[0].envFrom[0].configMapRef.name);
      expect(cm.data.SESSION_STORE).toBe('cluster');
      expect(cm.data.REDIS_CLUSTER_NODES.split(',')).toEqual(Array.from({ length: nodes }, (_, i) => `sa-test-session-auth-redis-${i}.auth-ns.svc.${domain}:${port}`));
      expect(cm.data.REDIS_WAIT_REPLICAS).toBe('1');
      for (const k of ['REDIS_SENTINELS', 'REDIS_MASTER_NAME', 'REDIS_URL']) expect(cm.data[k], k).toBeUndefined();
      const envNames = dep.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name);
      expect(envNames).toContain('REDIS_PASSWORD');
      expect(envNames).not.toContain('REDIS_SENTINEL_PASSWORD');
    }
  });

  it('the chaos Job runs against the cluster (SESSION_STORE, REDIS_CLUSTER_NODES, REDIS_PASSWORD)', () => {
    const job = one(rendered.clusterCustom!, 'Job');
    const c = job.spec.template.spec.containers[0];
    const e = env(c);
    expect(e.SESSION_STORE).toBe('cluster');
    expect(e.REDIS_CLUSTER_NODES).toBe(one(rendered.clusterCustom!, 'ConfigMap', 'sa-test-session-auth').data.REDIS_CLUSTER_NODES);
    expect(c.env.find((x: { name: string }) => x.name === 'REDIS_PASSWORD').valueFrom.secretKeyRef.key).toBe('redis-password');
  });

  it('NetworkPolicy: the bus port only between the cluster nodes, no Sentinel policy', () => {
    const pols = byKind(rendered.clusterCustom!, 'NetworkPolicy');
    expect(pols.map((p) => p.metadata.name)).toEqual(['sa-test-session-auth-redis']);
    const [data, bus] = pols[0]!.spec.ingress;
    expect(data.ports).toEqual([{ port: 6380, protocol: 'TCP' }]);
    expect(bus.ports).toEqual([{ port: 16380, protocol: 'TCP' }]);
    expect(bus.from).toEqual([{ podSelector: { matchLabels: one(rendered.clusterCustom!, 'StatefulSet').spec.selector.matchLabels } }]);
  });
});

describe('chaos', () => {
  it('Role is namespaced and allows only list/get/watch/delete on pods', () => {
    for (const name of ['default', 'custom']) {
      const objs = rendered[name]!;
      expect(byKind(objs, 'ClusterRole')).toHaveLength(0);
      expect(byKind(objs, 'ClusterRoleBinding')).toHaveLength(0);
      const role = one(objs, 'Role');
      expect(role.metadata.namespace).toBe('auth-ns');
      expect(role.rules).toHaveLength(1);
      expect(role.rules[0].apiGroups).toEqual(['']);
      expect(role.rules[0].resources).toEqual(['pods']);
      expect([...role.rules[0].verbs].sort()).toEqual(['delete', 'get', 'list', 'watch']);
      const binding = one(objs, 'RoleBinding');
      expect(binding.roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name });
      expect(binding.subjects[0]).toMatchObject({ kind: 'ServiceAccount', namespace: 'auth-ns' });
    }
  });

  it('the chaos Job is a helm test hook running kill-primary with the chaos ServiceAccount', () => {
    const job = one(rendered.chaosJob!, 'Job');
    expect(job.metadata.annotations!['helm.sh/hook']).toBe('test');
    const spec = job.spec.template.spec;
    expect(spec.serviceAccountName).toBe(one(rendered.chaosJob!, 'Role').metadata.name);
    expect(spec.containers[0].command).toEqual(['node', 'chaos/dist/cli.js', 'run', '--experiment', 'kill-primary', '--platform', 'kubernetes']);
    const envNames = spec.containers[0].env.map((e: { name: string }) => e.name);
    for (const n of ['K8S_NAMESPACE', 'BASE_URL', 'REDIS_SENTINELS', 'REDIS_MASTER_NAME', 'REDIS_POD_SELECTOR', 'REDIS_SENTINEL_PASSWORD']) expect(envNames).toContain(n);
    // plain Job mode in the custom values: no hook
    expect(one(rendered.custom!, 'Job').metadata.annotations?.['helm.sh/hook']).toBeUndefined();
  });

  it('the smoke test Pod is a helm test hook that registers, logs in and calls /auth/me', () => {
    const pod = one(rendered.default!, 'Pod');
    expect(pod.metadata.annotations!['helm.sh/hook']).toBe('test');
    const script = pod.spec.containers[0].args[0] as string;
    for (const s of ['/auth/register', '/auth/login', '/auth/me']) expect(script).toContain(s);
    expect(pod.spec.containers[0].env[0]).toEqual({ name: 'BASE_URL', value: 'http://sa-test-session-auth.auth-ns.svc.cluster.local:80' });
  });
});

describe('monitoring', () => {
  it('PrometheusRule embeds files/prometheus/alerts.yaml groups', () => {
    const file = parse(readFileSync(path.join(chartDir, 'files/prometheus/alerts.yaml'), 'utf8')) as { groups: unknown[] };
    expect(one(rendered.default!, 'PrometheusRule').spec.groups).toEqual(file.groups);
  });

  it('one grafana_dashboard ConfigMap per files/dashboards/*.json, holding valid JSON', () => {
    const files = readdirSync(path.join(chartDir, 'files/dashboards')).filter((f) => f.endsWith('.json'));
    const cms = byKind(rendered.default!, 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard === '1');
    expect(cms).toHaveLength(files.length);
    for (const cm of cms) for (const v of Object.values(cm.data as Record<string, string>)) expect(() => JSON.parse(v)).not.toThrow();
    const custom = byKind(rendered.custom!, 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard === '1');
    for (const cm of custom) expect(cm.metadata.namespace).toBe('monitoring');
  });
});

describe('values.schema.json and cross-value checks', () => {
  const dir = path.join(chartDir, 'test/values');
  const bad = readdirSync(dir).filter((f) => f.startsWith('bad-'));

  it('has bad values files to test', () => expect(bad.length).toBeGreaterThanOrEqual(5));

  it.each(bad)('%s is rejected by the schema', async (file) => {
    const res = await helm(['template', 'x', '.', '-f', path.join('test/values', file)]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/values don't meet the specifications of the schema/);
  });

  // What each cross-value check must say (a new invalid-*.yaml needs its line here).
  const reasons: Record<string, RegExp> = {
    'invalid-quorum.yaml': /quorum \(4\) cannot exceed redis.sentinel.replicas/,
    'invalid-min-replicas.yaml': /minReplicasToWrite \(3\) must be below redis.replicas/,
    'invalid-replicated-with-sentinel.yaml': /sessionStore=replicated needs redis.topology=standalone/,
    'invalid-replicated-with-cluster.yaml': /sessionStore=replicated needs redis.topology=standalone/,
    'invalid-cluster-two-primaries.yaml': /redis.cluster.primaries \(2\) must be at least 3/,
    'invalid-cluster-wait-without-replicas.yaml': /REDIS_WAIT_REPLICAS .* cannot exceed redis.cluster.replicasPerPrimary \(0\)/,
    'invalid-cluster-min-replicas.yaml': /redis.cluster.minReplicasToWrite \(2\) cannot exceed redis.cluster.replicasPerPrimary \(1\)/,
    'invalid-cluster-without-pod-services.yaml': /redis.topology=cluster needs redis.podServices: true/,
    'invalid-cluster-near-cache.yaml': /sessionNearCache needs redis.topology sentinel or standalone/,
    'invalid-cluster-bus-port.yaml': /redis.port \(60000\) must be at most 55535/,
  };

  it.each(readdirSync(dir).filter((f) => f.startsWith('invalid-')))('%s fails rendering with a clear message', async (file) => {
    expect(reasons[file], `no expected message for ${file}`).toBeDefined();
    const res = await helm(['template', 'x', '.', '-f', path.join('test/values', file)]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(reasons[file]!);
  });
});

describe('values.yaml documentation', () => {
  // helm-docs style: every leaf value (and every map/list value) carries a `# --` comment. The yaml
  // parser attaches the comment of a map's first key to the map itself, hence `map.commentBefore`.
  function collect(map: YAMLMap, prefix: string, out: Array<{ key: string; documented: boolean }>): void {
    (map.items as Pair[]).forEach((item, i) => {
      const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
      const full = prefix ? `${prefix}.${key}` : key;
      const comment = ((isScalar(item.key) ? item.key.commentBefore : undefined) ?? '') + (i === 0 ? (map.commentBefore ?? '') : '');
      const isSection = isMap(item.value) && !comment.includes('--');
      if (isSection) collect(item.value as YAMLMap, full, out);
      else out.push({ key: full, documented: comment.includes('--') });
    });
  }

  it('every value has a `# --` comment and appears in the README table', () => {
    const doc = parseDocument(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
    const values: Array<{ key: string; documented: boolean }> = [];
    collect(doc.contents as YAMLMap, '', values);
    expect(values.length).toBeGreaterThan(50);
    expect(values.filter((v) => !v.documented).map((v) => v.key)).toEqual([]);
    const readme = readFileSync(path.join(chartDir, 'README.md'), 'utf8');
    for (const { key } of values) expect(readme, key).toContain(`| \`${key}\` |`);
  });

  it('the README values table is exactly what test/values-table.mjs generates from values.yaml (run it with --write after editing a value)', () => {
    const generated = execFileSync(process.execPath, [path.join(chartDir, 'test/values-table.mjs')], { encoding: 'utf8' });
    const readme = readFileSync(path.join(chartDir, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Values\n') + '## Values\n'.length);
    expect(section.trim()).toBe(generated.trim());
  });
});

describe('skaffold.yaml', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const sk = parse(readFileSync(path.join(repoRoot, 'skaffold.yaml'), 'utf8')) as any;

  it('uses a skaffold v4beta schema', () => {
    expect(sk.apiVersion).toMatch(/^skaffold\/v4beta\d+$/);
    expect(sk.kind).toBe('Config');
  });

  it('builds the images from the repository root with services/auth/Dockerfile', () => {
    for (const a of sk.build.artifacts) {
      expect(a.context).toBe('.');
      expect(existsSync(path.join(repoRoot, a.context, a.docker.dockerfile))).toBe(true);
    }
    const dockerfile = readFileSync(path.join(repoRoot, 'services/auth/Dockerfile'), 'utf8');
    for (const a of sk.build.artifacts) expect(dockerfile).toMatch(new RegExp(`^FROM .* AS ${a.docker.target}$`, 'm'));
  });

  it('deploys the chart with image values that reference the built artifacts', () => {
    const release = sk.deploy.helm.releases[0];
    expect(existsSync(path.join(repoRoot, release.chartPath, 'Chart.yaml'))).toBe(true);
    const sanitized = sk.build.artifacts.map((a: { image: string }) => a.image.replace(/[/\-.:]/g, '_'));
    const templates = Object.values(release.setValueTemplates as Record<string, string>);
    for (const t of templates) {
      const m = /\{\{\.IMAGE_(?:REPO|TAG)_(\w+)\}\}/.exec(t);
      expect(m, t).not.toBeNull();
      expect(sanitized).toContain(m![1]);
    }
    expect(release.setValueTemplates['image.repository']).toBe('{{.IMAGE_REPO_session_auth}}');
    expect(release.setValueTemplates['image.tag']).toBe('{{.IMAGE_TAG_session_auth}}');
    const values = parse(readFileSync(path.join(repoRoot, release.chartPath, 'values.yaml'), 'utf8'));
    expect(values.image.repository).toBe(sk.build.artifacts[0].image);
    expect(values.chaos.image.repository).toBe(sk.build.artifacts[1].image);
  });

  it('port-forwards the Service and has sentinel and standalone profiles', () => {
    expect(sk.portForward[0]).toMatchObject({ resourceType: 'service', resourceName: 'session-auth', localPort: 3000 });
    const names = sk.profiles.map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(['sentinel', 'standalone']));
    const standalone = sk.profiles.find((p: { name: string }) => p.name === 'standalone');
    expect(standalone.patches[0]).toMatchObject({ path: '/deploy/helm/releases/0/setValues/redis.topology', value: 'standalone' });
  });
});
