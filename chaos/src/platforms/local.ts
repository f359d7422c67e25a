/** The local platform: faults are signals to real processes of a startCluster() cluster. */
import { command, type RedisProcess } from '@session-auth/topology';
import { watchCluster } from './cluster-events.js';
import type { Cluster } from '../cluster/index.js';
import type { Fault, PartitionKind, TimelineEvent } from '../figures.js';
import { pollUntil } from '../util.js';
import { startPartition, type ActivePartition } from './partitions.js';
import { UnsupportedError, type EventRecorder, type Platform } from './platform.js';

/** Local processes; on a netns cluster (network namespaces) also real partitions. */
export class LocalPlatform implements Platform {
  private readonly killed = new Map<string, { restart: () => Promise<void> }>();
  private readonly partitions = new Map<Fault, ActivePartition>();

  constructor(private readonly cluster: Cluster) {}

  get name(): 'local' | 'netns' {
    return this.cluster.net ? 'netns' : 'local';
  }

  get topology(): 'standalone' | 'sentinel' | 'cluster' | 'replicated' {
    return this.cluster.topology;
  }
  get baseUrl(): string {
    return this.cluster.url;
  }

  describe(): Record<string, unknown> {
    return {
      platform: this.name,
      topology: this.cluster.topology,
      ...(this.cluster.net ? { netns: this.cluster.net.resources(), minReplicasMaxLagSeconds: this.cluster.minReplicasMaxLagSeconds } : {}),
      redisWaitReplicas: this.cluster.appEnv.REDIS_WAIT_REPLICAS ?? 'default',
      url: this.cluster.url,
      runDir: this.cluster.runDir,
      appReplicas: this.cluster.apps.length,
      processes: this.cluster.processes(),
    };
  }

  async startEvents(): Promise<EventRecorder> {
    const rc = this.cluster.redisCluster;
    if (rc) return watchCluster(() => rc.nodes.filter((n) => n.running()));
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
    return { kind, target: `${node.name} (${node.host}:${node.port})`, at, detail };
  }

  async killPrimary(): Promise<Fault> {
    const rc = this.cluster.redisCluster;
    if (rc) {
      // The first shard's primary: its users (about 1/N of them) are the ones who may notice.
      const shard = (await rc.shards())[0]!;
      const f = await this.killRedis('kill-primary', shard.primary, `primary of slots ${shard.slots.map(([a, b]) => `${a}-${b}`).join(',')}`);
      return { ...f, slots: [...shard.slots] };
    }
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
    return { kind: 'kill-sentinel', target: `${victim.name} (${victim.host}:${victim.port})`, at };
  }

  async killAppReplica(): Promise<Fault> {
    const victim = this.cluster.apps.find((a) => a.running());
    if (!victim) throw new Error('no running app replica');
    if (this.cluster.apps.length < 2) throw new UnsupportedError('kill-app-replica needs at least 2 app replicas');
    const at = Date.now();
    await victim.kill('SIGKILL');
    this.killed.set(victim.name, { restart: () => victim.start() });
    return { kind: 'kill-app-replica', target: `${victim.name} (${victim.host}:${victim.port})`, at };
  }

  async restartPrimaryEmpty(guarded = false): Promise<Fault> {
    const topo = this.requireSentinel(guarded ? 'restart-primary-empty-guarded' : 'restart-primary-empty');
    const primary = await topo.currentPrimary();
    const at = Date.now();
    await primary.kill('SIGKILL');
    if (!guarded) {
      // Straight back, same port, no data: a pod rescheduled onto an empty volume before
      // down-after-milliseconds (1500 ms) elapsed, so Sentinel may never see it down.
      await primary.start({ emptyData: true });
      const restartedAfter = Date.now() - at;
      return { kind: 'restart-primary-empty', target: `${primary.name} (${primary.host}:${primary.port})`, at, detail: `restarted empty after ${restartedAfter} ms` };
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
      target: `${primary.name} (${primary.host}:${primary.port})`,
      at,
      detail: `held back until the sentinels elected ${next.name}, restarted empty as its replica after ${restartedAfter} ms`,
    };
  }

  async reshard(userSlots: readonly number[]): Promise<Fault> {
    const rc = this.cluster.redisCluster;
    if (!rc) throw new UnsupportedError('reshard needs the cluster topology');
    const [from, to] = await rc.shards();
    if (!from || !to) throw new Error('reshard needs at least 2 shards');
    const at = Date.now();
    // The load's users' slots on that shard first (so the move is felt), then its lowest 256, key by
    // key: requests meet slots mid-move (ASK) and moved (MOVED) for the whole duration.
    const own = (s: number) => from.slots.some(([a, b]) => s >= a && s <= b);
    const users = [...new Set(userSlots.filter(own))];
    const low: number[] = [];
    for (const [a, b] of from.slots) for (let s = a; s <= b && low.length < 256; s++) if (!users.includes(s)) low.push(s);
    const moved = await rc.moveSlots(from.primary, to.primary, [...users, ...low], { keysPerBatch: 10 });
    return {
      kind: 'reshard',
      target: `${from.primary.name} -> ${to.primary.name}`,
      at,
      detail: `${moved.length} slots (${users.length} of them the load's users') moved in ${Date.now() - at} ms`,
      slots: moved.map((s): [number, number] => [s, s]),
    };
  }

  async partition(kind: PartitionKind): Promise<Fault> {
    if (!this.cluster.net) throw new UnsupportedError(`${kind} needs --platform netns (every process in its own network namespace)`);
    const active = await startPartition(kind, this.cluster, this.cluster.minReplicasMaxLagSeconds * 1000);
    this.partitions.set(active.fault, active);
    return active.fault;
  }

  async settle(fault: Fault): Promise<void> {
    const active = this.partitions.get(fault);
    if (!active) return;
    this.partitions.delete(fault);
    await active.heal();
    await active.settle();
  }

  async rollback(fault: Fault): Promise<void> {
    const cut = this.partitions.get(fault);
    if (cut) {
      await cut.heal();
      return;
    }
    const name = fault.target.split(' ')[0] ?? '';
    const entry = this.killed.get(name);
    if (!entry) return;
    this.killed.delete(name);
    await entry.restart();
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (this.cluster.sentinel) await this.cluster.sentinel.waitHealthy(timeoutMs);
    else if (this.cluster.redisCluster) await this.cluster.redisCluster.waitHealthy(timeoutMs);
    else if (this.cluster.standalone && !this.cluster.standalone.redis.running()) throw new Error('standalone redis is not running');
    await pollUntil(
      'every app replica ready behind the ingress',
      async () => (this.cluster.ingress.backends().every((b) => b.lastStatus === 200) ? true : undefined),
      Math.max(1_000, deadline - Date.now()),
      100,
    );
  }
}
