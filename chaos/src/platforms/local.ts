/** The local platform: faults are signals to real processes of a startCluster() cluster. */
import { command, type RedisProcess } from '@session-auth/topology';
import type { Cluster } from '../cluster/index.js';
import type { Fault, TimelineEvent } from '../figures.js';
import { pollUntil } from '../util.js';
import { UnsupportedError, type EventRecorder, type Platform } from './platform.js';

export class LocalPlatform implements Platform {
  readonly name = 'local' as const;
  private readonly killed = new Map<string, { restart: () => Promise<void> }>();

  constructor(private readonly cluster: Cluster) {}

  get topology(): 'standalone' | 'sentinel' | 'replicated' {
    return this.cluster.topology;
  }
  get baseUrl(): string {
    return this.cluster.url;
  }

  describe(): Record<string, unknown> {
    return {
      platform: 'local',
      topology: this.cluster.topology,
      url: this.cluster.url,
      runDir: this.cluster.runDir,
      appReplicas: this.cluster.apps.length,
      processes: this.cluster.processes(),
    };
  }

  async startEvents(): Promise<EventRecorder> {
    const topo = this.cluster.sentinel;
    if (!topo) return { all: () => [], close: async () => {} };
    const stream = topo.events();
    await stream.ready;
    return {
      all: (): TimelineEvent[] => stream.all().map((e) => ({ at: e.at, source: e.sentinel, channel: e.channel, message: e.message })),
      close: () => stream.close(),
    };
  }

  private requireSentinel(what: string) {
    const topo = this.cluster.sentinel;
    if (!topo) throw new UnsupportedError(`${what} needs the sentinel topology`);
    return topo;
  }

  private async killRedis(kind: Fault['kind'], node: RedisProcess, detail?: string): Promise<Fault> {
    const at = Date.now();
    await node.kill('SIGKILL');
    this.killed.set(node.name, { restart: () => node.start() });
    return { kind, target: `${node.name} (127.0.0.1:${node.port})`, at, detail };
  }

  async killPrimary(): Promise<Fault> {
    if (this.cluster.standalone) return this.killRedis('kill-primary', this.cluster.standalone.redis, 'standalone redis-server');
    const topo = this.requireSentinel('kill-primary');
    const primary = await topo.currentPrimary();
    return this.killRedis('kill-primary', primary, 'current primary according to Sentinel');
  }

  async killReplica(): Promise<Fault> {
    const topo = this.requireSentinel('kill-replica');
    const replicas = await topo.replicasOf();
    const victim = replicas[0];
    if (!victim) throw new Error('no linked replica to kill');
    return this.killRedis('kill-replica', victim);
  }

  async killSentinel(): Promise<Fault> {
    const topo = this.requireSentinel('kill-sentinel');
    const victim = topo.sentinels.find((s) => s.running());
    if (!victim) throw new Error('no running sentinel');
    const at = Date.now();
    await victim.kill('SIGKILL');
    this.killed.set(victim.name, { restart: () => victim.start() });
    return { kind: 'kill-sentinel', target: `${victim.name} (127.0.0.1:${victim.port})`, at };
  }

  async killAppReplica(): Promise<Fault> {
    const victim = this.cluster.apps.find((a) => a.running());
    if (!victim) throw new Error('no running app replica');
    if (this.cluster.apps.length < 2) throw new UnsupportedError('kill-app-replica needs at least 2 app replicas');
    const at = Date.now();
    await victim.kill('SIGKILL');
    this.killed.set(victim.name, { restart: () => victim.start() });
    return { kind: 'kill-app-replica', target: `${victim.name} (127.0.0.1:${victim.port})`, at };
  }

  async restartPrimaryEmpty(guarded = false): Promise<Fault> {
    const topo = this.requireSentinel(guarded ? 'restart-primary-empty-guarded' : 'restart-primary-empty');
    const primary = await topo.currentPrimary();
    const at = Date.now();
    await primary.kill('SIGKILL');
    if (!guarded) {
      // Straight back, same port, no data: a pod rescheduled onto an empty volume before
      // down-after-milliseconds (1000 ms) elapsed, so Sentinel may never see it down.
      await primary.start({ emptyData: true });
      const restartedAfter = Date.now() - at;
      return { kind: 'restart-primary-empty', target: `${primary.name} (127.0.0.1:${primary.port})`, at, detail: `restarted empty after ${restartedAfter} ms` };
    }
    // The chart's redis-init.sh rule, applied locally: this node has no data and the sentinels
    // still name it primary with replicas known, so it must not start as a primary. It waits for
    // the failover, then starts empty and joins the new primary as a replica.
    const { primary: next } = await topo.waitForNewPrimary(primary.port, 30_000);
    await primary.start({ emptyData: true });
    await command({ host: primary.host, port: primary.port }, ['REPLICAOF', next.host, next.port]);
    const restartedAfter = Date.now() - at;
    return {
      kind: 'restart-primary-empty-guarded',
      target: `${primary.name} (127.0.0.1:${primary.port})`,
      at,
      detail: `held back until the sentinels elected ${next.name}, restarted empty as its replica after ${restartedAfter} ms`,
    };
  }

  async rollback(fault: Fault): Promise<void> {
    const name = fault.target.split(' ')[0] ?? '';
    const entry = this.killed.get(name);
    if (!entry) return;
    this.killed.delete(name);
    await entry.restart();
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (this.cluster.sentinel) await this.cluster.sentinel.waitHealthy(timeoutMs);
    else if (this.cluster.standalone && !this.cluster.standalone.redis.running()) throw new Error('standalone redis is not running');
    await pollUntil(
      'every app replica ready behind the ingress',
      async () => (this.cluster.ingress.backends().every((b) => b.lastStatus === 200) ? true : undefined),
      Math.max(1_000, deadline - Date.now()),
      100,
    );
  }
}
