/**
 * The Kubernetes platform (@kubernetes/client-node, in-cluster config or ~/.kube/config): finds the
 * primary by asking Sentinel over the network (node-redis; RBAC has no pods/exec), maps its address
 * to a pod (k8s-select.ts), deletes the pod, and "rolls back" by waiting for the StatefulSet or
 * Deployment controller to bring a ready pod back. The delete is forced by default
 * (gracePeriodSeconds 0: the kubelet SIGKILLs the container, like kill -9 locally); with
 * CHAOS_DELETE_GRACE_SECONDS=N (or `default`, the pod's own terminationGracePeriodSeconds) it is
 * graceful: preStop hooks run and the process gets SIGTERM, as on a node drain or a rollout.
 *
 * Env (set by charts/session-auth/templates/chaos-job.yaml): K8S_NAMESPACE, BASE_URL,
 * SESSION_STORE (redis|sentinel), REDIS_SENTINELS, REDIS_MASTER_NAME, REDIS_URL, REDIS_PASSWORD,
 * REDIS_SENTINEL_PASSWORD, APP_POD_SELECTOR, REDIS_POD_SELECTOR, SENTINEL_POD_SELECTOR,
 * CHAOS_DELETE_GRACE_SECONDS, CHAOS_FORWARDED_PROTO (sent as x-forwarded-proto: the Job talks to
 * the Service over plain HTTP where users come through a TLS edge, so with Secure cookies it must
 * say so, as the chart's smoke test does).
 */
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { createClient } from 'redis';
import type { Fault, FaultKind, TimelineEvent } from '../figures.js';
import { pollUntil, type Logger } from '../util.js';
import { parseHostPorts, podName, replacedAndReady, selectVictim, type HostPort, type PodLike } from './k8s-select.js';
import { UnsupportedError, type EventRecorder, type Platform } from './platform.js';

export interface KubernetesConfig {
  namespace: string;
  baseUrl: string;
  topology: 'standalone' | 'sentinel';
  sentinels: HostPort[];
  masterName: string;
  sentinelPassword?: string;
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
  const topology = env.SESSION_STORE === 'sentinel' ? 'sentinel' : 'standalone';
  return {
    namespace: need('K8S_NAMESPACE'),
    baseUrl: need('BASE_URL').replace(/\/$/, ''),
    topology,
    sentinels: topology === 'sentinel' ? parseHostPorts(need('REDIS_SENTINELS')) : [],
    masterName: env.REDIS_MASTER_NAME ?? 'mymaster',
    sentinelPassword: env.REDIS_SENTINEL_PASSWORD || undefined,
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

  get topology(): 'standalone' | 'sentinel' {
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
    return { platform: 'kubernetes', namespace: this.cfg.namespace, baseUrl: this.cfg.baseUrl, topology: this.cfg.topology, sentinels: this.cfg.sentinels, selectors: this.cfg.selectors };
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

  private async deletePod(kind: FaultKind, role: Role, before: V1Pod[], victim: PodLike): Promise<Fault> {
    const name = podName(victim);
    const at = Date.now();
    const grace = this.cfg.deleteGraceSeconds;
    await this.api.deleteNamespacedPod({ name, namespace: this.cfg.namespace, ...(grace === undefined ? {} : { gracePeriodSeconds: grace }) });
    this.pending.set(name, { role, before, uid: victim.metadata?.uid });
    const how = grace === 0 ? 'forced, gracePeriodSeconds 0' : grace === undefined ? "graceful, the pod's terminationGracePeriodSeconds" : `graceful, gracePeriodSeconds ${grace}`;
    this.log(`deleted pod ${name} (${how})`);
    return { kind, target: name, at, detail: `pod ${name} deleted (${how})` };
  }

  private async kill(kind: FaultKind, role: Role): Promise<Fault> {
    const [redisPods, sentinelPods, appPods] = await Promise.all([this.pods('redis'), this.pods('sentinel'), this.pods('app')]);
    const primary = this.cfg.topology === 'sentinel' && role === 'redis' ? await this.askPrimary() : undefined;
    const victim = selectVictim({ kind, topology: this.cfg.topology, redisPods, sentinelPods, appPods, primary });
    const before = role === 'redis' ? redisPods : role === 'sentinel' ? sentinelPods : appPods;
    return this.deletePod(kind, role, before, victim);
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
      'the release healthy (all pods ready, Sentinel names a ready primary and sees every replica linked, /readyz 200)',
      async () => {
        const [redisPods, sentinelPods, appPods] = await Promise.all([this.pods('redis'), this.pods('sentinel'), this.pods('app')]);
        const all = [...redisPods, ...sentinelPods, ...appPods];
        if (all.some((pod) => !(pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'))) return undefined;
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
