import { describe, expect, it } from 'vitest';
import { parseClusterNodes } from '@session-auth/topology';
import { clusterShards, isReady, parseHostPorts, podMatchesHost, podOfClusterNode, replacedAndReady, selectPodByAddress, selectVictim, type PodLike } from '../src/platforms/k8s-select.js';
import { kubernetesConfigFromEnv } from '../src/platforms/kubernetes.js';

const pod = (name: string, ip: string, ready = true, extra: Partial<NonNullable<PodLike['metadata']>> = {}): PodLike => ({
  metadata: { name, uid: `uid-${name}`, ...extra },
  status: { podIP: ip, phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

const redis = [pod('sa-redis-0', '10.0.0.10'), pod('sa-redis-1', '10.0.0.11'), pod('sa-redis-2', '10.0.0.12')];
const sentinels = [pod('sa-sentinel-0', '10.0.1.10'), pod('sa-sentinel-1', '10.0.1.11'), pod('sa-sentinel-2', '10.0.1.12')];
const apps = [pod('sa-app-7f9-b', '10.0.2.2'), pod('sa-app-7f9-a', '10.0.2.1'), pod('sa-app-7f9-c', '10.0.2.3', false)];

describe('parseHostPorts', () => {
  it('parses REDIS_SENTINELS with hostnames, IPs, IPv6 and default ports', () => {
    expect(parseHostPorts('sa-sentinel-0.sa-sentinel-headless.ns.svc.cluster.local:26379, 10.0.0.1:5000,[::1]:26380,host')).toEqual([
      { host: 'sa-sentinel-0.sa-sentinel-headless.ns.svc.cluster.local', port: 26379 },
      { host: '10.0.0.1', port: 5000 },
      { host: '::1', port: 26380 },
      { host: 'host', port: 26379 },
    ]);
    expect(() => parseHostPorts('a:99999')).toThrow(/bad port/);
  });
});

describe('mapping the primary Sentinel names to a pod', () => {
  it('matches by pod IP', () => {
    expect(selectPodByAddress(redis, '10.0.0.11').metadata?.name).toBe('sa-redis-1');
  });
  it('matches by the stable hostname <pod>.<headless-svc>... (announce-hostnames)', () => {
    expect(selectPodByAddress(redis, 'sa-redis-2.sa-redis-headless.chaos.svc.cluster.local').metadata?.name).toBe('sa-redis-2');
    expect(selectPodByAddress(redis, 'SA-REDIS-0.sa-redis-headless.').metadata?.name).toBe('sa-redis-0');
  });
  it('never matches a pod whose name is only a prefix of another', () => {
    const pods = [pod('redis-1', '10.1.0.1'), pod('redis-10', '10.1.0.2')];
    expect(podMatchesHost(pods[0] as PodLike, 'redis-10.h.ns.svc')).toBe(false);
    expect(selectPodByAddress(pods, 'redis-10.h.ns.svc').metadata?.name).toBe('redis-10');
  });
  it('refuses to guess when nothing matches, and ignores terminating pods', () => {
    expect(() => selectPodByAddress(redis, '10.9.9.9')).toThrow(/no pod matches/);
    const terminating = [pod('sa-redis-0', '10.0.0.10', true, { deletionTimestamp: new Date() })];
    expect(() => selectPodByAddress(terminating, '10.0.0.10')).toThrow(/no pod matches/);
  });
  it('matches an IP listed in podIPs (dual stack)', () => {
    const p: PodLike = { metadata: { name: 'x' }, status: { podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::5' }] } };
    expect(podMatchesHost(p, 'fd00::5')).toBe(true);
  });
});

describe('which pod each experiment deletes', () => {
  const base = { topology: 'sentinel' as const, redisPods: redis, sentinelPods: sentinels, appPods: apps, primary: { host: '10.0.0.11', port: 6379 } };
  it('kill-primary: the pod Sentinel names', () => {
    expect(selectVictim({ ...base, kind: 'kill-primary' }).metadata?.name).toBe('sa-redis-1');
  });
  it('kill-primary on standalone: the only redis pod, and refuses when there are several', () => {
    expect(selectVictim({ ...base, topology: 'standalone', kind: 'kill-primary', redisPods: [redis[0] as PodLike] }).metadata?.name).toBe('sa-redis-0');
    expect(() => selectVictim({ ...base, topology: 'standalone', kind: 'kill-primary' })).toThrow(/exactly one/);
  });
  it('kill-replica: a ready non-primary, first by name', () => {
    expect(selectVictim({ ...base, kind: 'kill-replica' }).metadata?.name).toBe('sa-redis-0');
    expect(selectVictim({ ...base, kind: 'kill-replica', primary: { host: '10.0.0.10', port: 6379 } }).metadata?.name).toBe('sa-redis-1');
    const notReady = [redis[0], pod('sa-redis-1', '10.0.0.11', false), pod('sa-redis-2', '10.0.0.12', false)] as PodLike[];
    expect(() => selectVictim({ ...base, kind: 'kill-replica', redisPods: notReady, primary: { host: '10.0.0.10', port: 6379 } })).toThrow(/no ready replica/);
  });
  it('kill-sentinel: only with >= 3 ready sentinels (a majority must survive)', () => {
    expect(selectVictim({ ...base, kind: 'kill-sentinel' }).metadata?.name).toBe('sa-sentinel-2');
    expect(() => selectVictim({ ...base, kind: 'kill-sentinel', sentinelPods: sentinels.slice(0, 2) })).toThrow(/>= 3 ready/);
  });
  it('kill-app-replica: a ready app pod, first by name, only when another stays', () => {
    expect(selectVictim({ ...base, kind: 'kill-app-replica' }).metadata?.name).toBe('sa-app-7f9-a');
    expect(() => selectVictim({ ...base, kind: 'kill-app-replica', appPods: [apps[0] as PodLike, apps[2] as PodLike] })).toThrow(/>= 2 ready/);
  });
  it('restart-primary-empty is local-only', () => {
    expect(() => selectVictim({ ...base, kind: 'restart-primary-empty' })).toThrow(/local-only/);
  });
});

describe('recovery after a pod deletion', () => {
  it('needs as many ready pods as before and none of them the deleted incarnation', () => {
    expect(isReady(redis[0] as PodLike)).toBe(true);
    const after = [redis[0], redis[2]] as PodLike[];
    expect(replacedAndReady(redis, after, 'uid-sa-redis-1')).toBe(false);
    const recreated = pod('sa-redis-1', '10.0.0.21', true, { uid: 'uid-new' });
    expect(replacedAndReady(redis, [redis[0], recreated, redis[2]] as PodLike[], 'uid-sa-redis-1')).toBe(true);
    expect(replacedAndReady(redis, [redis[0], pod('sa-redis-1', '10.0.0.21', false, { uid: 'uid-new' }), redis[2]] as PodLike[], 'uid-sa-redis-1')).toBe(false);
  });
});

describe('Redis Cluster: shards and their pods', () => {
  // CLUSTER NODES of a chart release (cluster-init.sh: ClusterIPs announced, pod Service names as
  // hostnames) after one failover: redis-0 failed, its replica redis-4 took slots 0-5460.
  const d = '.ns.svc.cluster.local';
  const view = parseClusterNodes(
    [
      `id0 10.96.0.10:6379@16379,sa-redis-0${d} master,fail - 0 0 1 disconnected`,
      `id1 10.96.0.11:6379@16379,sa-redis-1${d} myself,master - 0 0 2 connected 5461-10922`,
      `id2 10.96.0.12:6379@16379,sa-redis-2${d} master - 0 0 3 connected 10923-16383`,
      `id3 10.96.0.13:6379@16379,sa-redis-3${d} slave id2 0 0 3 connected`,
      `id4 10.96.0.14:6379@16379,sa-redis-4${d} master - 0 0 7 connected 0-5460`,
      `id5 10.96.0.15:6379@16379,sa-redis-5${d} slave id1 0 0 2 connected`,
    ].join('\n'),
  );
  const pods = Array.from({ length: 6 }, (_, i) => pod(`sa-redis-${i}`, `10.244.0.${20 + i}`));

  it('parses the announced address and hostname of each node', () => {
    expect(view[4]).toMatchObject({ id: 'id4', host: '10.96.0.14', port: 6379, hostname: `sa-redis-4${d}`, flags: ['master'], slots: [[0, 5460]] });
    expect(view[3]).toMatchObject({ masterId: 'id2', flags: ['slave'], slots: [] });
  });

  it('lists the shards in slot order, never a failed primary', () => {
    const shards = clusterShards(view);
    expect(shards.map((s) => s.primary.id)).toEqual(['id4', 'id1', 'id2']);
    expect(shards[2]!.replicas.map((r) => r.id)).toEqual(['id3']);
    expect(shards[0]!.replicas).toEqual([]);
  });

  it('kill-primary: the pod of the first shard\'s primary, found by its hostname (pod IPs are not announced)', () => {
    const victim = selectVictim({ kind: 'kill-primary', topology: 'cluster', redisPods: pods, sentinelPods: [], appPods: apps, clusterNodes: view });
    expect(victim.metadata?.name).toBe('sa-redis-4');
    // A shard to avoid (it holds the load's per-IP login counter) is skipped while another qualifies.
    expect(selectVictim({ kind: 'kill-primary', topology: 'cluster', redisPods: pods, sentinelPods: [], appPods: apps, clusterNodes: view, avoidPrimaries: new Set(['id4']) }).metadata?.name).toBe('sa-redis-1');
    expect(selectVictim({ kind: 'kill-primary', topology: 'cluster', redisPods: pods, sentinelPods: [], appPods: apps, clusterNodes: view, avoidPrimaries: new Set(['id4', 'id1', 'id2']) }).metadata?.name).toBe('sa-redis-4');
    expect(() => podOfClusterNode(pods, { ...view[1]!, hostname: '' })).toThrow(/announces no hostname/);
    expect(() => selectVictim({ kind: 'kill-primary', topology: 'cluster', redisPods: pods, sentinelPods: [], appPods: apps, clusterNodes: [] })).toThrow(/no node reports a primary/);
  });
});

describe('kubernetesConfigFromEnv (the chaos Job env)', () => {
  it('reads the env the chart passes', () => {
    const cfg = kubernetesConfigFromEnv({
      K8S_NAMESPACE: 'ns',
      BASE_URL: 'http://sa.ns.svc.cluster.local:80/',
      SESSION_STORE: 'sentinel',
      REDIS_SENTINELS: 'a:26379,b:26379,c:26379',
      REDIS_MASTER_NAME: 'mymaster',
      APP_POD_SELECTOR: 'app.kubernetes.io/component=app',
      REDIS_POD_SELECTOR: 'app.kubernetes.io/component=redis',
      SENTINEL_POD_SELECTOR: 'app.kubernetes.io/component=sentinel',
    });
    expect(cfg.topology).toBe('sentinel');
    expect(cfg.baseUrl).toBe('http://sa.ns.svc.cluster.local:80');
    expect(cfg.sentinels).toHaveLength(3);
    expect(() => kubernetesConfigFromEnv({})).toThrow(/K8S_NAMESPACE/);
  });

  it('reads the cluster env: seed nodes (default port 6379) and the data nodes\' password', () => {
    const cfg = kubernetesConfigFromEnv({
      K8S_NAMESPACE: 'ns',
      BASE_URL: 'http://x',
      SESSION_STORE: 'cluster',
      REDIS_CLUSTER_NODES: 'sa-redis-0.ns.svc.cluster.local:6379,sa-redis-1.ns.svc.cluster.local',
      REDIS_PASSWORD: 'pw',
      APP_POD_SELECTOR: 'a',
      REDIS_POD_SELECTOR: 'r',
    });
    expect(cfg.topology).toBe('cluster');
    expect(cfg.clusterNodes).toEqual([
      { host: 'sa-redis-0.ns.svc.cluster.local', port: 6379 },
      { host: 'sa-redis-1.ns.svc.cluster.local', port: 6379 },
    ]);
    expect(cfg.redisPassword).toBe('pw');
    expect(cfg.sentinels).toEqual([]);
    expect(() => kubernetesConfigFromEnv({ K8S_NAMESPACE: 'ns', BASE_URL: 'http://x', SESSION_STORE: 'cluster', APP_POD_SELECTOR: 'a', REDIS_POD_SELECTOR: 'r' })).toThrow(/REDIS_CLUSTER_NODES/);
  });

  it('deletes forced by default, graceful on request, and refuses a bad grace', () => {
    const base = { K8S_NAMESPACE: 'ns', BASE_URL: 'http://x', APP_POD_SELECTOR: 'a', REDIS_POD_SELECTOR: 'r' };
    expect(kubernetesConfigFromEnv(base).deleteGraceSeconds).toBe(0);
    expect(kubernetesConfigFromEnv({ ...base, CHAOS_DELETE_GRACE_SECONDS: '30' }).deleteGraceSeconds).toBe(30);
    expect(kubernetesConfigFromEnv({ ...base, CHAOS_DELETE_GRACE_SECONDS: 'default' }).deleteGraceSeconds).toBeUndefined();
    expect(() => kubernetesConfigFromEnv({ ...base, CHAOS_DELETE_GRACE_SECONDS: '-1' })).toThrow(/CHAOS_DELETE_GRACE_SECONDS/);
  });

  it('sends x-forwarded-proto only when told to (the chart\'s Job stands in for the TLS edge)', () => {
    const base = { K8S_NAMESPACE: 'ns', BASE_URL: 'http://x', APP_POD_SELECTOR: 'a', REDIS_POD_SELECTOR: 'r' };
    expect(kubernetesConfigFromEnv(base).forwardedProto).toBeUndefined();
    expect(kubernetesConfigFromEnv({ ...base, CHAOS_FORWARDED_PROTO: 'https' }).forwardedProto).toBe('https');
  });
});
