/**
 * The Kubernetes platform (@kubernetes/client-node, in-cluster config or ~/.kube/config): finds the
 * primary by asking Sentinel over the network (node-redis; RBAC has no pods/exec), maps its address
 * to a pod (k8s-select.ts), deletes the pod, and "rolls back" by waiting for the StatefulSet or
 * Deployment controller to bring a ready pod back. The delete is forced by default
 * (gracePeriodSeconds 0: the kubelet SIGKILLs the container, like kill -9 locally); with
 * CHAOS_DELETE_GRACE_SECONDS=N (or `default`, the pod's own terminationGracePeriodSeconds) it is
 * graceful: preStop hooks run and the process gets SIGTERM, as on a node drain or a rollout.
 *
 * On a Redis Cluster (SESSION_STORE=cluster) it reads the shards from CLUSTER NODES of any node
 * (REDIS_CLUSTER_NODES, then the addresses the nodes announce: their Services' ClusterIPs), maps a
 * node to its pod by the hostname it announces (`<pod>.<ns>.svc.<domain>`), deletes the first
 * shard's primary for kill-primary, and turns the nodes' flags into the timeline's events
 * (cluster-events.ts) as the local platform does.
 *
 * Env (set by charts/session-auth/templates/chaos-job.yaml): K8S_NAMESPACE, BASE_URL,
 * SESSION_STORE (redis|sentinel|cluster), REDIS_SENTINELS, REDIS_MASTER_NAME, REDIS_CLUSTER_NODES, REDIS_URL, REDIS_PASSWORD,
 * REDIS_SENTINEL_PASSWORD, APP_POD_SELECTOR, REDIS_POD_SELECTOR, SENTINEL_POD_SELECTOR,
 * CHAOS_DELETE_GRACE_SECONDS, CHAOS_FORWARDED_PROTO (sent as x-forwarded-proto: the Job talks to
 * the Service over plain HTTP where users come through a TLS edge, so with Secure cookies it must
 * say so, as the chart's smoke test does).
 */
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { clusterHealthProblem, command, parseClusterNodes, type ClusterNodeLine } from '@session-auth/topology';
import { createClient } from 'redis';
import type { Fault, FaultKind, PartitionKind, TimelineEvent } from '../figures.js';
import { pollUntil, type Logger } from '../util.js';
import { watchCluster } from './cluster-events.js';
import { clusterShards, parseHostPorts, podName, podOfClusterNode, replacedAndReady, selectVictim, type HostPort, type PodLike } from './k8s-select.js';
import { UnsupportedError, type EventRecorder, type Platform } from './platform.js';

export type KubernetesTopology = 'standalone' | 'sentinel' | 'cluster';

export interface KubernetesConfig {
  namespace: string;
  baseUrl: string;
  topology: KubernetesTopology;
  sentinels: HostPort[];
  masterName: string;
  sentinelPassword?: string;
  /** Seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES). */
  clusterNodes: HostPort[];
  redisPassword?: string;
  selectors: { app: string; redis: string; sentinel: string };
  recoveryTimeoutMs: number;
  /** gracePeriodSeconds of the delete: 0 forced; undefined: the pod's own terminationGracePeriodSeconds. */
  deleteGraceSeconds: number | undefined;
  forwardedProto?: string;
}

function parseGrace(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return 0;
  if (raw === 'default') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`CHAOS_DELETE_GRACE_SECONDS must be a whole number of seconds or "default", not "${raw}"`);
  return n;
}

export function kubernetesConfigFromEnv(env: Record<string, string | undefined>): KubernetesConfig {
  const need = (k: string): string => {
    const v = env[k];
    if (!v) throw new Error(`${k} is required for --platform kubernetes`);
    return v;
  };
  const topology: KubernetesTopology = env.SESSION_STORE === 'sentinel' ? 'sentinel' : env.SESSION_STORE === 'cluster' ? 'cluster' : 'standalone';
  return {
    namespace: need('K8S_NAMESPACE'),
    baseUrl: need('BASE_URL').replace(/\/$/, ''),
    topology,
    sentinels: topology === 'sentinel' ? parseHostPorts(need('REDIS_SENTINELS')) : [],
    masterName: env.REDIS_MASTER_NAME ?? 'mymaster',
    sentinelPassword: env.REDIS_SENTINEL_PASSWORD || undefined,
    clusterNodes: topology === 'cluster' ? parseHostPorts(need('REDIS_CLUSTER_NODES'), 6379) : [],
    redisPassword: env.REDIS_PASSWORD || undefined,
    selectors: { app: need('APP_POD_SELECTOR'), redis: need('REDIS_POD_SELECTOR'), sentinel: env.SENTINEL_POD_SELECTOR ?? '' },
    recoveryTimeoutMs: Number(env.CHAOS_RECOVERY_TIMEOUT_MS ?? 180_000),
    deleteGraceSeconds: parseGrace(env.CHAOS_DELETE_GRACE_SECONDS),
    forwardedProto: env.CHAOS_FORWARDED_PROTO || undefined,
  };
}

type Role = 'app' | 'redis' | 'sentinel';

export class KubernetesPlatform implements Platform {
  readonly name = 'kubernetes' as const;
  private readonly pending = new Map<string, { role: Role; before: V1Pod[]; uid?: string }>();
  private readonly closers: (() => Promise<void>)[] = [];

  constructor(
    private readonly cfg: KubernetesConfig,
    private readonly api: CoreV1Api,
    private readonly log: Logger,
  ) {}

  get topology(): KubernetesTopology {
    return this.cfg.topology;
  }
  get baseUrl(): string {
    return this.cfg.baseUrl;
  }
  readonly healthyTimeoutMs = 90_000;
  /**
   * 10 s, not the local 6 s: in 2 of 40 trials here (1 forced, 1 graceful) writes came back only
   * at 7.3 s. In the forced one the primary's preStop handover (SENTINEL FAILOVER) was still
   * running when the kubelet killed the container after its 2 s minimum grace, and the Sentinels
   * started a second failover on +odown; the replica reconfiguration finished 5 s later. Medians
   * stay at 2.5-3.6 s.
   */
  readonly recoveryToleranceMs = 10_000;
  get requestHeaders(): Readonly<Record<string, string>> {
    return this.cfg.forwardedProto ? { 'x-forwarded-proto': this.cfg.forwardedProto } : {};
  }

  describe(): Record<string, unknown> {
    return {
      platform: 'kubernetes',
      namespace: this.cfg.namespace,
      baseUrl: this.cfg.baseUrl,
      topology: this.cfg.topology,
      ...(this.cfg.topology === 'cluster' ? { clusterNodes: this.cfg.clusterNodes } : { sentinels: this.cfg.sentinels }),
      selectors: this.cfg.selectors,
    };
  }

  /** Where the cluster's nodes answer: what they announce once one has answered, else the seeds. */
  private clusterAddresses: HostPort[] = [];

  /** CLUSTER NODES from the first node that answers (known addresses first, then the seeds). */
  async clusterView(): Promise<ClusterNodeLine[]> {
    const failures: string[] = [];
    for (const n of [...this.clusterAddresses, ...this.cfg.clusterNodes]) {
      try {
        const lines = parseClusterNodes(String(await command({ ...n, password: this.cfg.redisPassword }, ['CLUSTER', 'NODES'], 1_000)));
        this.clusterAddresses = lines.filter((l) => l.host && !l.flags.includes('noaddr')).map((l) => ({ host: l.host, port: l.port }));
        return lines;
      } catch (err) {
        failures.push(`${n.host}:${n.port}: ${(err as Error).message}`);
      }
    }
    throw new Error(`no cluster node answered CLUSTER NODES (${failures.join('; ')})`);
  }

  /** Why the cluster is not whole (undefined: it is), asking every node by its announced address. */
  private async clusterProblem(redisPods: V1Pod[]): Promise<string | undefined> {
    const lines = await this.clusterView();
    const primaries = clusterShards(lines).length;
    if (primaries === 0) return 'no primary serves slots';
    const nodes = lines.map((l) => ({ name: l.hostname.split('.')[0] || `${l.host}:${l.port}`, host: l.host, port: l.port }));
    return clusterHealthProblem(nodes, {
      expectedNodes: redisPods.length,
      replicasPerPrimary: Math.floor(redisPods.length / primaries) - 1,
      password: this.cfg.redisPassword,
    });
  }

  private async pods(role: Role): Promise<V1Pod[]> {
    const labelSelector = this.cfg.selectors[role];
    if (!labelSelector) return [];
    const list = await this.api.listNamespacedPod({ namespace: this.cfg.namespace, labelSelector });
    return list.items;
  }

  /**
   * One SENTINEL command, asked of each Sentinel in turn until one gives an answer `read` accepts
   * (undefined: try the next one). Throws with every Sentinel's reason when none does.
   */
  private async askSentinels<T>(command: string[], read: (reply: unknown) => T | undefined): Promise<T> {
    const failures: string[] = [];
    for (const s of this.cfg.sentinels) {
      const client = createClient({ socket: { host: s.host, port: s.port, connectTimeout: 1_000, reconnectStrategy: false }, password: this.cfg.sentinelPassword });
      client.on('error', () => {});
      try {
        await client.connect();
        const answer = read(await client.sendCommand(command));
        if (answer !== undefined) return answer;
        failures.push(`${s.host}: no usable answer`);
      } catch (err) {
        failures.push(`${s.host}: ${(err as Error).message}`);
      } finally {
        client.destroy();
      }
    }
    throw new Error(`no sentinel answered ${command.join(' ')} (${failures.join('; ')})`);
  }

  /** SENTINEL get-master-addr-by-name from the first sentinel that answers. */
  askPrimary(): Promise<HostPort> {
    return this.askSentinels(['SENTINEL', 'get-master-addr-by-name', this.cfg.masterName], (reply) =>
      Array.isArray(reply) && reply.length >= 2 ? { host: String(reply[0]), port: Number(reply[1]) } : undefined,
    );
  }

  /**
   * What the Sentinels think of the replicas (SENTINEL replicas <master>): the pod being ready is
   * not enough, a replica the Sentinels cannot reach yet would leave the next failover with no
   * good replica to promote. Unreachable Sentinels count as no healthy replica.
   */
  async replicaHealth(): Promise<{ healthy: number; known: number; detail: string[] }> {
    return this.askSentinels(['SENTINEL', 'replicas', this.cfg.masterName], (reply) => {
      if (!Array.isArray(reply)) return undefined;
      const detail: string[] = [];
      let healthy = 0;
      for (const r of reply as unknown[]) {
        // node-redis turns each replica's field list into an object; a raw reply is a flat list.
        const f = new Map<string, string>();
        if (Array.isArray(r)) for (let i = 0; i + 1 < r.length; i += 2) f.set(String(r[i]), String(r[i + 1]));
        else if (r && typeof r === 'object') for (const [k, v] of Object.entries(r)) f.set(k, String(v));
        else continue;
        const flags = f.get('flags') ?? '';
        if (!/s_down|o_down|disconnected/.test(flags) && f.get('master-link-status') === 'ok') healthy++;
        detail.push(`${f.get('name') ?? '?'} ${flags} link=${f.get('master-link-status') ?? '?'}`);
      }
      return { healthy, known: detail.length, detail };
    }).catch((err: Error) => ({ healthy: 0, known: 0, detail: [err.message] }));
  }

  async startEvents(): Promise<EventRecorder> {
    if (this.cfg.topology === 'cluster') {
      await this.clusterView();
      // 100 ms rounds: each asks every node over a new connection through kube-proxy.
      const recorder = watchCluster(() => this.clusterAddresses.map((a) => ({ ...a, password: this.cfg.redisPassword })), 100);
      this.closers.push(() => recorder.close());
      return recorder;
    }
    const events: TimelineEvent[] = [];
    const clients = await Promise.all(
      this.cfg.sentinels.map(async (s) => {
        const client = createClient({ socket: { host: s.host, port: s.port, connectTimeout: 1_000, reconnectStrategy: () => 200 }, password: this.cfg.sentinelPassword });
        client.on('error', () => {});
        try {
          await client.connect();
          await client.pSubscribe('*', (message, channel) => events.push({ at: Date.now(), source: s.host, channel, message }));
        } catch (err) {
          this.log(`sentinel events from ${s.host} unavailable: ${(err as Error).message}`);
        }
        return client;
      }),
    );
    const close = async (): Promise<void> => {
      for (const c of clients) c.destroy();
    };
    this.closers.push(close);
    return { all: () => [...events], close };
  }

  private async deletePod(kind: FaultKind, role: Role, before: V1Pod[], victim: PodLike, extra: Pick<Fault, 'slots'> & { why?: string } = {}): Promise<Fault> {
    const name = podName(victim);
    const at = Date.now();
    const grace = this.cfg.deleteGraceSeconds;
    await this.api.deleteNamespacedPod({ name, namespace: this.cfg.namespace, ...(grace === undefined ? {} : { gracePeriodSeconds: grace }) });
    this.pending.set(name, { role, before, uid: victim.metadata?.uid });
    const how = grace === 0 ? 'forced, gracePeriodSeconds 0' : grace === undefined ? "graceful, the pod's terminationGracePeriodSeconds" : `graceful, gracePeriodSeconds ${grace}`;
    this.log(`deleted pod ${name} (${how})${extra.why ? `: ${extra.why}` : ''}`);
    const { why, ...fields } = extra;
    return { kind, target: name, at, detail: `pod ${name} deleted (${how})${why ? `, ${why}` : ''}`, ...fields };
  }

  /**
   * Cluster: the primaries holding a login throttle's per-IP counter (`<prefix>th:ip:<ip>`). A login
   * counts its client IP first, in the slot of that key, whatever the account's shard: while that
   * key's shard has no primary, every login from that IP fails. The load comes from one IP, so
   * killing that shard would fail the logins of every user, not of that shard's: the kill avoids
   * it (docs/cluster.md, "Logins and the IP counter"), and the figures keep meaning "this shard's
   * users and nobody else".
   */
  private async primariesWithIpCounters(lines: ClusterNodeLine[]): Promise<Set<string>> {
    const holding = new Set<string>();
    await Promise.all(
      clusterShards(lines).map(async ({ primary }) => {
        let cursor = '0';
        do {
          const reply = (await command({ host: primary.host, port: primary.port, password: this.cfg.redisPassword }, ['SCAN', cursor, 'MATCH', '*th:ip:*', 'COUNT', '1000'], 2_000)) as [string, string[]];
          cursor = String(reply[0]);
          if (reply[1].length > 0) holding.add(primary.id);
        } while (cursor !== '0' && !holding.has(primary.id));
      }),
    );
    return holding;
  }

  private async kill(kind: FaultKind, role: Role): Promise<Fault> {
    const [redisPods, sentinelPods, appPods] = await Promise.all([this.pods('redis'), this.pods('sentinel'), this.pods('app')]);
    const primary = this.cfg.topology === 'sentinel' && role === 'redis' ? await this.askPrimary() : undefined;
    const clusterNodes = this.cfg.topology === 'cluster' && role === 'redis' ? await this.clusterView() : undefined;
    const avoidPrimaries = clusterNodes && kind === 'kill-primary' ? await this.primariesWithIpCounters(clusterNodes) : undefined;
    const victim = selectVictim({ kind, topology: this.cfg.topology, redisPods, sentinelPods, appPods, primary, clusterNodes, avoidPrimaries });
    const before = role === 'redis' ? redisPods : role === 'sentinel' ? sentinelPods : appPods;
    // Cluster: the shard's slots go with the fault, so the figures tell its users from the others.
    const shard = clusterNodes ? clusterShards(clusterNodes).find((sh) => podOfClusterNode(redisPods, sh.primary) === victim) : undefined;
    const avoided = shard && avoidPrimaries?.size ? `; not a shard holding the load's per-IP login counter (${[...avoidPrimaries].map((id) => id.slice(0, 8)).join(', ')})` : '';
    const extra = shard ? { slots: [...shard.slots], why: `primary of slots ${shard.slots.map(([a, b]) => `${a}-${b}`).join(',')}${avoided}` } : {};
    return this.deletePod(kind, role, before, victim, extra);
  }

  killPrimary(): Promise<Fault> {
    return this.kill('kill-primary', 'redis');
  }
  killReplica(): Promise<Fault> {
    return this.kill('kill-replica', 'redis');
  }
  killSentinel(): Promise<Fault> {
    return this.kill('kill-sentinel', 'sentinel');
  }
  killAppReplica(): Promise<Fault> {
    return this.kill('kill-app-replica', 'app');
  }
  async partition(kind: PartitionKind): Promise<Fault> {
    throw new UnsupportedError(`${kind} runs on --platform netns only (a Kubernetes partition would need a NetworkPolicy-capable CNI)`);
  }

  async restartPrimaryEmpty(_guarded?: boolean): Promise<Fault> {
    throw new UnsupportedError('restart-primary-empty is local-only');
  }

  /** The controller recreates the pod; wait until it (a new incarnation) is ready. */
  async rollback(fault: Fault): Promise<void> {
    const p = this.pending.get(fault.target);
    if (!p) return;
    this.pending.delete(fault.target);
    await pollUntil(`a ready replacement for pod ${fault.target}`, async () => (replacedAndReady(p.before, await this.pods(p.role), p.uid) ? true : undefined), this.cfg.recoveryTimeoutMs, 1_000);
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    await pollUntil(
      'the release healthy (all pods ready, Sentinel names a ready primary and sees every replica linked, or every cluster node agrees the cluster is whole; /readyz 200)',
      async () => {
        const [redisPods, sentinelPods, appPods] = await Promise.all([this.pods('redis'), this.pods('sentinel'), this.pods('app')]);
        const all = [...redisPods, ...sentinelPods, ...appPods];
        if (all.some((pod) => !(pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'))) return undefined;
        if (this.cfg.topology === 'cluster') {
          // Thrown, not returned: a timeout then says what was still missing.
          const problem = await this.clusterProblem(redisPods);
          if (problem) throw new Error(`cluster not whole: ${problem}`);
        }
        if (this.cfg.topology === 'sentinel') {
          const primary = await this.askPrimary();
          selectVictim({ kind: 'kill-primary', topology: 'sentinel', redisPods, sentinelPods, appPods, primary });
          // Every other data pod is a replica the Sentinels see linked and up.
          const replicas = await this.replicaHealth();
          if (replicas.healthy < redisPods.length - 1) return undefined;
        }
        const r = await fetch(`${this.cfg.baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
        await r.arrayBuffer();
        return r.ok ? true : undefined;
      },
      timeoutMs,
      1_000,
    );
  }

  async close(): Promise<void> {
    for (const c of this.closers.splice(0)) await c();
  }
}

export async function createKubernetesPlatform(env: Record<string, string | undefined>, log: Logger): Promise<KubernetesPlatform> {
  const cfg = kubernetesConfigFromEnv(env);
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return new KubernetesPlatform(cfg, kc.makeApiClient(CoreV1Api), log);
}
