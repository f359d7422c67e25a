import { requireBinary } from './binaries.js';
import { renderSentinelConfig } from './config.js';
import { dataNodeProcess } from './data-node.js';
import { makeBaseDir, nodeDir, removeDir } from './dirs.js';
import { subscribeSentinelEvents, type SentinelEventStream } from './events.js';
import { freePort, LOOPBACK } from './ports.js';
import { waitUntilHealthy } from './health.js';
import { ManagedProcess, type RedisProcess } from './process.js';
import { command, pairsToRecord, parseInfo, type Endpoint, type RespValue } from './resp.js';

/** Sentinel's down-after-milliseconds on loopback; the chart's redis.sentinel.downAfterMilliseconds matches it. */
export const DEFAULT_DOWN_AFTER_MS = 1500;

export interface SentinelTopologyOptions {
  /** Where node dirs go. Default: a temp dir, deleted by stop() unless keepDir. */
  baseDir?: string;
  /** Default 'mymaster' (REDIS_MASTER_NAME's default). */
  masterName?: string;
  /** Default 2: one replica may die and writes still reach a replica (min-replicas-to-write 1). */
  replicas?: number;
  /** Default 3: the smallest count where a majority survives losing one sentinel. */
  sentinels?: number;
  /** Default 2 (a majority of 3). */
  quorum?: number;
  /** Default DEFAULT_DOWN_AFTER_MS (1500 ms): why, where it is applied below. */
  downAfterMs?: number;
  /** Default 10000 ms, see config.ts. */
  failoverTimeoutMs?: number;
  /**
   * Default min(1, replicas). Applies to every data node. A test that kills all replicas of the
   * primary (or promotes the last one) sees NOREPLICAS errors on writes after
   * minReplicasMaxLag seconds; pass 0 to accept writes without any replica.
   */
  minReplicasToWrite?: number;
  /** Seconds, default 10 (Redis's default). */
  minReplicasMaxLag?: number;
  /** Default true: a killed-and-restarted node comes back with its data, like a real crash. */
  appendonly?: boolean;
  /** requirepass/masterauth on the data nodes (sentinels get auth-pass). */
  password?: string;
  /** requirepass on the sentinels themselves (REDIS_SENTINEL_PASSWORD). */
  sentinelPassword?: string;
  /** How long startSentinelTopology waits for waitHealthy (default 30000 ms). */
  healthyTimeoutMs?: number;
  /** Keep the temp base dir after stop() (logs, data) for debugging. */
  keepDir?: boolean;
  /**
   * Where each process runs (default: 127.0.0.1 in this namespace). Called once per process name
   * ("redis-primary", "replica-N", "sentinel-N"), e.g. to give each its own network namespace.
   */
  placement?: (name: string) => Promise<Placement>;
}

/** A process's address and the command prefix that puts it there (see netns.ts). */
export interface Placement {
  host: string;
  execPrefix?: readonly string[];
}

export interface SentinelTopology {
  readonly masterName: string;
  readonly baseDir: string;
  /** Index 0 ("redis-primary") starts as primary; names reflect the initial role only. */
  readonly redisNodes: RedisProcess[];
  readonly sentinels: RedisProcess[];
  readonly sentinelAddresses: { host: string; port: number }[];
  currentPrimary(): Promise<RedisProcess>;
  replicasOf(): Promise<RedisProcess[]>;
  waitHealthy(timeoutMs?: number): Promise<void>;
  waitForNewPrimary(oldPort: number, timeoutMs?: number): Promise<{ primary: RedisProcess; at: number }>;
  events(): SentinelEventStream;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const QUERY_TIMEOUT_MS = 500;

function positiveInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

class Topology implements SentinelTopology {
  private readonly streams = new Set<SentinelEventStream>();
  private stopping: Promise<void> | undefined;

  constructor(
    readonly masterName: string,
    readonly baseDir: string,
    readonly redisNodes: ManagedProcess[],
    readonly sentinels: ManagedProcess[],
    private readonly removeOnStop: boolean,
  ) {}

  get sentinelAddresses(): { host: string; port: number }[] {
    return this.sentinels.map((s) => ({ host: s.host, port: s.port }));
  }

  private liveSentinels(): ManagedProcess[] {
    return this.sentinels.filter((s) => s.running());
  }

  private nodeByPort(port: number): ManagedProcess | undefined {
    return this.redisNodes.find((n) => n.port === port);
  }

  private async masterAddr(sentinel: ManagedProcess): Promise<number> {
    const reply = await command(sentinel.endpoint, ['SENTINEL', 'get-master-addr-by-name', this.masterName], QUERY_TIMEOUT_MS);
    if (!Array.isArray(reply) || reply.length < 2) throw new Error(`${sentinel.name} does not know master ${this.masterName}`);
    return Number(reply[1]);
  }

  async currentPrimary(): Promise<RedisProcess> {
    const failures: string[] = [];
    for (const s of this.liveSentinels()) {
      try {
        const port = await this.masterAddr(s);
        const node = this.nodeByPort(port);
        if (!node) throw new Error(`${s.name} names 127.0.0.1:${port} as primary, which is no node of this topology`);
        return node;
      } catch (err) {
        failures.push(`${s.name}: ${(err as Error).message}`);
      }
    }
    throw new Error(`no sentinel could name the primary of ${this.masterName} (${failures.join('; ') || 'no sentinel running'})`);
  }

  async replicasOf(): Promise<RedisProcess[]> {
    const primary = await this.currentPrimary();
    const candidates = this.redisNodes.filter((n) => n !== primary && n.running());
    const linked = await Promise.all(
      candidates.map(async (n) => {
        try {
          const info = await replicationInfo(n.endpoint);
          return info.role === 'slave' && Number(info.master_port) === primary.port ? n : undefined;
        } catch {
          return undefined;
        }
      }),
    );
    return linked.filter((n): n is ManagedProcess => n !== undefined);
  }

  /** Why the topology is not healthy yet, or undefined when it is. */
  private async unhealthyReason(): Promise<string | undefined> {
    const sentinels = this.liveSentinels();
    if (sentinels.length === 0) return 'no sentinel running';
    const ports = await Promise.all(sentinels.map((s) => this.masterAddr(s)));
    const primaryPort = ports[0] as number;
    if (ports.some((p) => p !== primaryPort)) {
      return `sentinels disagree on the primary: ${sentinels.map((s, i) => `${s.name}->${ports[i]}`).join(', ')}`;
    }
    const primary = this.nodeByPort(primaryPort);
    if (!primary) return `sentinels name unknown primary port ${primaryPort}`;
    if (!primary.running()) return `primary ${primary.name} (per sentinels) is not running`;
    const pinfo = await replicationInfo(primary.endpoint);
    if (pinfo.role !== 'master') return `${primary.name} reports role ${pinfo.role}, sentinels call it primary`;

    const replicas = this.redisNodes.filter((n) => n !== primary && n.running());
    for (const r of replicas) {
      const info = await replicationInfo(r.endpoint);
      if (info.role !== 'slave' || Number(info.master_port) !== primary.port) {
        return `${r.name} is ${info.role} of port ${info.master_port ?? '-'}, not a replica of ${primary.name}`;
      }
      if (info.master_link_status !== 'up') return `${r.name} link to ${primary.name} is ${info.master_link_status}`;
    }

    for (const s of sentinels) {
      const [master, knownReplicas, knownSentinels] = await Promise.all([
        command(s.endpoint, ['SENTINEL', 'MASTER', this.masterName], QUERY_TIMEOUT_MS),
        command(s.endpoint, ['SENTINEL', 'REPLICAS', this.masterName], QUERY_TIMEOUT_MS),
        command(s.endpoint, ['SENTINEL', 'SENTINELS', this.masterName], QUERY_TIMEOUT_MS),
      ]);
      const flags = pairsToRecord(master).flags ?? '';
      if (flags !== 'master') return `${s.name} flags the primary "${flags}"`;
      const healthy = (list: RespValue): Set<number> =>
        new Set(
          (Array.isArray(list) ? list : [])
            .map(pairsToRecord)
            .filter((e) => !/s_down|o_down|disconnected/.test(e.flags ?? ''))
            .map((e) => Number(e.port)),
        );
      const seenReplicas = healthy(knownReplicas);
      const missingReplica = replicas.find((r) => !seenReplicas.has(r.port));
      if (missingReplica) return `${s.name} does not (yet) see replica ${missingReplica.name} as up`;
      const seenSentinels = healthy(knownSentinels);
      const missingSentinel = sentinels.find((o) => o !== s && !seenSentinels.has(o.port));
      if (missingSentinel) return `${s.name} does not (yet) see ${missingSentinel.name}`;
    }
    return undefined;
  }

  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitUntilHealthy(`topology ${this.masterName}`, () => this.unhealthyReason(), timeoutMs);
  }

  async waitForNewPrimary(oldPort: number, timeoutMs = 30_000): Promise<{ primary: RedisProcess; at: number }> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no sentinel answered';
    while (Date.now() < deadline) {
      // Ask all sentinels at once: the first to announce the switch decides `at`.
      const answers = await Promise.all(
        this.liveSentinels().map(async (s) => {
          try {
            const port = await this.masterAddr(s);
            return { port, at: Date.now() };
          } catch (err) {
            last = `${s.name}: ${(err as Error).message}`;
            return undefined;
          }
        }),
      );
      const moved = answers
        .filter((a): a is { port: number; at: number } => a !== undefined && a.port !== oldPort)
        .sort((a, b) => a.at - b.at)[0];
      const node = moved && this.nodeByPort(moved.port);
      if (moved && node?.running()) {
        try {
          if ((await replicationInfo(node.endpoint)).role === 'master') return { primary: node, at: moved.at };
          last = `${node.name} named primary but not yet role master`;
        } catch (err) {
          last = (err as Error).message;
        }
      } else if (moved) {
        last = `sentinels name port ${moved.port}, not a running node`;
      } else if (answers.some((a) => a !== undefined)) {
        last = `sentinels still name port ${oldPort}`;
      }
      await sleep(50);
    }
    throw new Error(`no new primary (other than port ${oldPort}) within ${timeoutMs} ms: ${last}`);
  }

  events(): SentinelEventStream {
    const stream = subscribeSentinelEvents(this.sentinels.map((s) => ({ name: s.name, endpoint: s.endpoint })));
    this.streams.add(stream);
    const close = stream.close.bind(stream);
    stream.close = async () => {
      this.streams.delete(stream);
      await close();
    };
    return stream;
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    await Promise.all([...this.streams].map((s) => s.close()));
    // Sentinels first: stopping the primary under live sentinels would start a pointless failover.
    const results = [
      ...(await Promise.allSettled(this.sentinels.map((s) => s.stop()))),
      ...(await Promise.allSettled(this.redisNodes.map((n) => n.stop()))),
    ];
    if (this.removeOnStop) removeDir(this.baseDir);
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    if (failed.length) throw new Error(`stopping topology: ${failed.join('; ')}`);
  }
}

async function replicationInfo(endpoint: Endpoint): Promise<Record<string, string>> {
  return parseInfo(await command(endpoint, ['INFO', 'replication'], QUERY_TIMEOUT_MS));
}

export async function startSentinelTopology(opts: SentinelTopologyOptions = {}): Promise<SentinelTopology> {
  const serverBin = requireBinary('redis-server');
  const sentinelBin = requireBinary('redis-sentinel');
  const masterName = opts.masterName ?? 'mymaster';
  const replicaCount = positiveInt('replicas', opts.replicas ?? 2, 0);
  const sentinelCount = positiveInt('sentinels', opts.sentinels ?? 3, 1);
  const quorum = positiveInt('quorum', opts.quorum ?? Math.min(2, sentinelCount), 1);
  if (quorum > sentinelCount) throw new RangeError(`quorum ${quorum} exceeds sentinels ${sentinelCount}`);
  // 1500, not 1000: a Sentinel pings every min(down-after, 1000) ms, and after +switch-master it
  // resets its link to the new primary (act_ping_time = now) but reconnects no sooner than 1000 ms
  // after its last attempt at the dead address. With down-after 1000 the new primary's first PONG
  // races the sdown deadline: 1 kill-primary trial in 10 on a quiet machine saw the new primary
  // flagged down 1.01 s after its promotion, a second failover, and writes back only at 14.5 s.
  const downAfterMs = positiveInt('downAfterMs', opts.downAfterMs ?? DEFAULT_DOWN_AFTER_MS, 1);
  const failoverTimeoutMs = positiveInt('failoverTimeoutMs', opts.failoverTimeoutMs ?? 10_000, 1);
  const minReplicasToWrite = positiveInt('minReplicasToWrite', opts.minReplicasToWrite ?? Math.min(1, replicaCount), 0);
  const minReplicasMaxLag = positiveInt('minReplicasMaxLag', opts.minReplicasMaxLag ?? 10, 1);
  const appendonly = opts.appendonly ?? true;

  const base = makeBaseDir(opts.baseDir, 'session-auth-sentinel-');
  const started: ManagedProcess[] = [];
  const place = opts.placement ?? (async (): Promise<Placement> => ({ host: LOOPBACK }));
  const dataNode = async (name: string, replicaOf?: { host: string; port: number }): Promise<ManagedProcess> => {
    const at = await place(name);
    const node = await dataNodeProcess(
      { name, binary: serverBin, baseDir: base.dir, password: opts.password, host: at.host, execPrefix: at.execPrefix },
      { appendonly, password: opts.password, replicaOf, minReplicasToWrite, minReplicasMaxLagSeconds: minReplicasMaxLag },
    );
    started.push(node);
    return node;
  };

  try {
    // Sequential by necessity: replicas need the primary's final port, sentinels too.
    const primary = await dataNode('redis-primary');
    await primary.start();
    const master = { host: primary.host, port: primary.port };
    const replicas = await Promise.all(Array.from({ length: replicaCount }, (_, i) => dataNode(`replica-${i + 1}`, master)));
    await Promise.all(replicas.map((r) => r.start()));

    const sentinels: ManagedProcess[] = [];
    for (let i = 1; i <= sentinelCount; i++) {
      const name = `sentinel-${i}`;
      const dir = nodeDir(base.dir, name);
      const at = await place(name);
      const s = new ManagedProcess({
        name,
        kind: 'sentinel',
        binary: sentinelBin,
        dir,
        port: await freePort(),
        configFileName: 'sentinel.conf',
        password: opts.sentinelPassword,
        host: at.host,
        execPrefix: at.execPrefix,
        renderConfig: (port, logFile) =>
          renderSentinelConfig({
            host: at.host,
            port,
            dir,
            logFile,
            masterName,
            master,
            quorum,
            downAfterMs,
            failoverTimeoutMs,
            masterPassword: opts.password,
            sentinelPassword: opts.sentinelPassword,
          }),
      });
      started.push(s);
      sentinels.push(s);
    }
    await Promise.all(sentinels.map((s) => s.start()));

    const topology = new Topology(masterName, base.dir, [primary, ...replicas], sentinels, base.owned && !opts.keepDir);
    await topology.waitHealthy(opts.healthyTimeoutMs ?? 30_000);
    return topology;
  } catch (err) {
    await Promise.allSettled(started.map((p) => p.stop()));
    if (base.owned && !opts.keepDir) removeDir(base.dir);
    throw err;
  }
}
