import { requireBinary } from './binaries.js';
import { renderRedisConfig } from './config.js';
import { makeBaseDir, nodeDir, removeDir } from './dirs.js';
import { freePort, LOOPBACK } from './ports.js';
import { waitUntilHealthy } from './health.js';
import { ManagedProcess, type RedisProcess } from './process.js';
import { askNode, CLUSTER_SLOTS, clusterHealthProblem, parseClusterNodes, type ClusterNodeLine } from './cluster-nodes.js';

export { CLUSTER_SLOTS };

export interface ClusterTopologyOptions {
  /** Where node dirs go. Default: a temp dir, deleted by stop() unless keepDir. */
  baseDir?: string;
  /** Default 3: the smallest cluster whose primaries keep a majority when one fails. */
  primaries?: number;
  /** Replicas per primary, default 1. */
  replicasPerPrimary?: number;
  /**
   * Default 1000 ms. A primary unreachable this long is flagged failing, and its replica starts
   * an election shortly after. Redis's default is 15 s; on loopback a missed ping means the
   * process is gone, and chaos experiments want detection quickly.
   */
  nodeTimeoutMs?: number;
  /** Default true: a killed-and-restarted node comes back with its data, like a real crash. */
  appendonly?: boolean;
  password?: string;
  /** How long startClusterTopology waits for waitHealthy (default 30000 ms). */
  healthyTimeoutMs?: number;
  keepDir?: boolean;
}

export interface ClusterShard {
  /** Inclusive slot ranges this shard serves. */
  readonly slots: readonly [number, number][];
  readonly primary: RedisProcess;
  readonly replicas: RedisProcess[];
}

export interface ClusterTopology {
  readonly baseDir: string;
  /** Names reflect the initial role: `primary-<i>` and `replica-<i>-<j>` (replica j of shard i). */
  readonly nodes: RedisProcess[];
  /** Every node's address: what REDIS_CLUSTER_NODES lists (the client discovers the rest). */
  readonly addresses: { host: string; port: number }[];
  /** The shards as the running nodes report them (CLUSTER SHARDS from the first that answers). */
  shards(): Promise<ClusterShard[]>;
  /** The primary serving `slot` right now. */
  primaryOf(slot: number): Promise<RedisProcess>;
  /** Every slot covered by a primary, every node agreeing, every replica linked. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Waits until a node other than `oldPort` serves the slots `oldPort` served, as role master. */
  waitForNewPrimary(oldPort: number, timeoutMs?: number): Promise<{ primary: RedisProcess; at: number }>;
  /**
   * Live resharding: moves `slots` (a count: the lowest of `from`'s; or the slots) to `to`, key by key with
   * MIGRATE, the way redis-cli --cluster reshard does. Clients see ASK while a slot is in flight
   * and MOVED after. Returns the slots moved.
   */
  moveSlots(from: RedisProcess, to: RedisProcess, slots: number | readonly number[], opts?: { keysPerBatch?: number }): Promise<number[]>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ask = askNode;

class Topology implements ClusterTopology {
  private stopping: Promise<void> | undefined;
  constructor(
    readonly baseDir: string,
    readonly nodes: ManagedProcess[],
    private readonly password: string | undefined,
    private readonly perPrimary: number,
    private readonly removeOnStop: boolean,
  ) {}

  get addresses(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: n.host, port: n.port }));
  }

  private byPort(port: number): ManagedProcess | undefined {
    return this.nodes.find((n) => n.port === port);
  }

  private async view(): Promise<ClusterNodeLine[]> {
    let last = 'no node running';
    for (const n of this.nodes.filter((x) => x.running())) {
      try {
        return parseClusterNodes(String(await ask(n, ['CLUSTER', 'NODES'], this.password)));
      } catch (err) {
        last = (err as Error).message;
      }
    }
    throw new Error(`no node answered CLUSTER NODES: ${last}`);
  }

  async shards(): Promise<ClusterShard[]> {
    const lines = await this.view();
    return lines
      .filter((l) => l.flags.includes('master') && !l.flags.includes('fail') && l.slots.length > 0)
      .map((m) => ({
        slots: m.slots,
        primary: this.byPort(m.port)!,
        replicas: lines.filter((r) => r.masterId === m.id && this.byPort(r.port)).map((r) => this.byPort(r.port)!),
      }))
      .filter((s) => s.primary !== undefined)
      .sort((x, y) => x.slots[0]![0] - y.slots[0]![0]);
  }

  async primaryOf(slot: number): Promise<RedisProcess> {
    const shard = (await this.shards()).find((s) => s.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!shard) throw new Error(`no primary serves slot ${slot}`);
    return shard.primary;
  }

  private unhealthyReason(): Promise<string | undefined> {
    return clusterHealthProblem(
      this.nodes.filter((n) => n.running()),
      { expectedNodes: this.nodes.length, replicasPerPrimary: this.perPrimary, password: this.password },
    );
  }

  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitUntilHealthy('cluster', () => this.unhealthyReason(), timeoutMs);
    await this.recordRoles();
  }

  async waitForNewPrimary(oldPort: number, timeoutMs = 30_000): Promise<{ primary: RedisProcess; at: number }> {
    const deadline = Date.now() + timeoutMs;
    const oldId = this.idByPort.get(oldPort);
    const candidates = this.nodes.filter((n) => oldId !== undefined && this.replicaOf.get(n.port) === oldId);
    if (candidates.length === 0) throw new Error(`port ${oldPort} had no replica to promote`);
    let last = 'not checked';
    while (Date.now() < deadline) {
      for (const n of candidates.filter((x) => x.running())) {
        try {
          const me = parseClusterNodes(String(await ask(n, ['CLUSTER', 'NODES'], this.password))).find((l) => l.flags.includes('myself'));
          if (me?.flags.includes('master') && me.slots.length > 0) return { primary: n, at: Date.now() };
          last = `${n.name} still ${me?.flags.join(',')}`;
        } catch (err) {
          last = (err as Error).message;
        }
      }
      await sleep(25);
    }
    throw new Error(`no replica of port ${oldPort} was promoted within ${timeoutMs} ms (${last})`);
  }

  private readonly idByPort = new Map<number, string>();
  private readonly replicaOf = new Map<number, string>();
  /** Remembers each node's id and whom each replica follows: a promotion is told apart from another shard's primary. */
  private async recordRoles(): Promise<void> {
    this.replicaOf.clear();
    for (const l of await this.view()) {
      this.idByPort.set(l.port, l.id);
      if (l.masterId !== '-') this.replicaOf.set(l.port, l.masterId);
    }
  }

  async moveSlots(from: RedisProcess, to: RedisProcess, which: number | readonly number[], opts: { keysPerBatch?: number } = {}): Promise<number[]> {
    const lines = await this.view();
    const src = lines.find((l) => l.port === from.port);
    const dst = lines.find((l) => l.port === to.port);
    if (!src || !dst) throw new Error('moveSlots: both nodes must be cluster members');
    const slots: number[] = typeof which === 'number' ? [] : [...which];
    if (typeof which === 'number') for (const [a, b] of src.slots) for (let s = a; s <= b && slots.length < which; s++) slots.push(s);
    const batch = opts.keysPerBatch ?? 100;
    const masters = lines.filter((l) => l.flags.includes('master') && l.slots.length > 0).map((l) => this.byPort(l.port)!);
    for (const slot of slots) {
      // The order redis-cli uses: importing on the target first, so a client sent there by ASK is accepted.
      await ask(to, ['CLUSTER', 'SETSLOT', slot, 'IMPORTING', src.id], this.password);
      await ask(from, ['CLUSTER', 'SETSLOT', slot, 'MIGRATING', dst.id], this.password);
      for (;;) {
        const keys = (await ask(from, ['CLUSTER', 'GETKEYSINSLOT', slot, batch], this.password)) as string[];
        if (keys.length === 0) break;
        const args = ['MIGRATE', to.host, to.port, '', 0, 5000, ...(this.password ? ['AUTH', this.password] : []), 'KEYS', ...keys];
        await ask(from, args, this.password);
      }
      // The target first, then the source, then every other primary: the redis-cli order.
      await ask(to, ['CLUSTER', 'SETSLOT', slot, 'NODE', dst.id], this.password);
      await ask(from, ['CLUSTER', 'SETSLOT', slot, 'NODE', dst.id], this.password);
      for (const m of masters) {
        if (m !== from && m !== to && m.running()) await ask(m, ['CLUSTER', 'SETSLOT', slot, 'NODE', dst.id], this.password).catch(() => {});
      }
    }
    return slots;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const results = await Promise.allSettled(this.nodes.map((n) => n.stop()));
      if (this.removeOnStop) removeDir(this.baseDir);
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      if (failed.length) throw new Error(`stopping cluster: ${failed.join('; ')}`);
    })();
    return this.stopping;
  }
}

/**
 * A Redis Cluster of `primaries` shards with `replicasPerPrimary` replicas each, on free loopback
 * ports, built the way `redis-cli --cluster create` does (ADDSLOTSRANGE, MEET, REPLICATE) but
 * with each replica placed deliberately, so a test knows which node backs which.
 */
export async function startClusterTopology(opts: ClusterTopologyOptions = {}): Promise<ClusterTopology> {
  const bin = requireBinary('redis-server');
  const primaries = opts.primaries ?? 3;
  const perPrimary = opts.replicasPerPrimary ?? 1;
  if (!Number.isInteger(primaries) || primaries < 1) throw new RangeError(`primaries must be >= 1, got ${primaries}`);
  if (!Number.isInteger(perPrimary) || perPrimary < 0) throw new RangeError(`replicasPerPrimary must be >= 0, got ${perPrimary}`);
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 1000;
  const base = makeBaseDir(opts.baseDir, 'session-auth-cluster-');
  const started: ManagedProcess[] = [];
  const node = async (name: string): Promise<ManagedProcess> => {
    const dir = nodeDir(base.dir, name);
    const p = new ManagedProcess({
      name,
      kind: 'redis',
      binary: bin,
      dir,
      port: await freePort(),
      configFileName: 'redis.conf',
      password: opts.password,
      renderConfig: (port, logFile) =>
        renderRedisConfig({
          host: LOOPBACK,
          port,
          dir,
          logFile,
          appendonly: opts.appendonly ?? true,
          password: opts.password,
          // A promoted replica has no replica of its own until the old primary returns: with
          // min-replicas-to-write it would refuse every write meanwhile. Durability is WAIT's job
          // (the store's), and a minority primary stops taking writes after the node timeout anyway.
          minReplicasToWrite: 0,
          minReplicasMaxLagSeconds: 10,
          extraConfig: [
            'cluster-enabled yes',
            // In the node's dir; the node rewrites it with the cluster state and reads it on restart.
            'cluster-config-file nodes.conf',
            `cluster-node-timeout ${nodeTimeoutMs}`,
            // A shard without a primary stops only its own slots; the other shards keep serving
            // (the default, yes, stops the whole cluster while one shard fails over).
            'cluster-require-full-coverage no',
            // A lone failed shard's replicas do not move to it from others (each shard has its own).
            'cluster-allow-replica-migration no',
            'cluster-announce-ip 127.0.0.1',
            // CLUSTER SLOTS lists a replica only once its offset is non-zero: a ping a second
            // (default 10 s) moves it on an idle shard, so clients discover replicas soon after start.
            'repl-ping-replica-period 1',
          ],
        }),
    });
    started.push(p);
    return p;
  };
  try {
    const prim = await Promise.all(Array.from({ length: primaries }, (_, i) => node(`primary-${i + 1}`)));
    const reps = await Promise.all(
      Array.from({ length: primaries * perPrimary }, (_, k) => node(`replica-${Math.floor(k / perPrimary) + 1}-${(k % perPrimary) + 1}`)),
    );
    await Promise.all([...prim, ...reps].map((n) => n.start()));
    const pw = opts.password;
    for (const [i, p] of prim.entries()) {
      const a = Math.floor((i * CLUSTER_SLOTS) / primaries);
      const b = Math.floor(((i + 1) * CLUSTER_SLOTS) / primaries) - 1;
      await ask(p, ['CLUSTER', 'ADDSLOTSRANGE', a, b], pw);
    }
    const all = [...prim, ...reps];
    for (const n of all.slice(1)) await ask(all[0]!, ['CLUSTER', 'MEET', LOOPBACK, n.port], pw);
    const ids = await Promise.all(prim.map(async (p) => String(await ask(p, ['CLUSTER', 'MYID'], pw))));
    // REPLICATE needs the replica to know its primary already: wait for the gossip to spread.
    for (const [k, r] of reps.entries()) {
      const masterId = ids[Math.floor(k / perPrimary)]!;
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          await ask(r, ['CLUSTER', 'REPLICATE', masterId], pw);
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(50);
        }
      }
    }
    const topo = new Topology(base.dir, all, pw, perPrimary, base.owned && !opts.keepDir);
    await topo.waitHealthy(opts.healthyTimeoutMs ?? 30_000);
    return topo;
  } catch (err) {
    await Promise.allSettled(started.map((p) => p.stop()));
    if (base.owned && !opts.keepDir) removeDir(base.dir);
    throw err;
  }
}
