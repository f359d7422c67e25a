/**
 * The local cluster as a library: Redis (standalone or Sentinel) via @session-auth/topology, N
 * auth service processes sharing one SESSION_KEYS, an ingress in front, optionally Prometheus.
 * `npm run up`, the chaos experiments and the tests all start it through startCluster().
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createNetLab,
  freePort,
  startClusterTopology,
  startSentinelTopology,
  type ClusterTopology,
  startStandalone,
  type NetLab,
  type RedisProcess,
  type SentinelTopology,
  type SentinelTopologyOptions,
  type Standalone,
} from '@session-auth/topology';
import { quietLogger, repoRoot, timestamp, type Logger } from '../util.js';
import { createApp, type AppProcess } from './app.js';
import { startIngress, type Ingress } from './ingress.js';
import { startPrometheus, type PrometheusHandle } from './prometheus.js';

/**
 * replicated: one redis-server carries users and the change stream; sessions live in every app replica.
 * cluster: a Redis Cluster (3 primaries with 1 replica each unless `primaries` says otherwise).
 */
export type TopologyKind = 'standalone' | 'sentinel' | 'cluster' | 'replicated';

export interface ClusterOptions {
  topology: TopologyKind;
  /** App replicas behind the ingress (default 3). */
  replicas?: number;
  /** Shards of the cluster topology (default 3, one replica each). */
  primaries?: number;
  /** Ingress port (default: a free one). */
  port?: number;
  /** Also start Prometheus scraping every app replica, with the chart's alert rules. */
  observe?: boolean;
  /** Folder for every log (default .run/<timestamp> under the repository root). */
  runDir?: string;
  /** TLS on the ingress (PEM key and certificate): the cluster's URL is then https. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Extra/overriding environment for the app processes. */
  appEnv?: Record<string, string>;
  /**
   * loopback (default): every process on 127.0.0.1. netns (sentinel only, root): every Redis node,
   * sentinel and app replica in its own network namespace on a private bridge (topology's
   * netns.ts), so that links can be cut for real; the ingress and the load stay here.
   */
  network?: 'loopback' | 'netns';
  /** Sentinel topology knobs (e.g. minReplicasMaxLag) on top of the defaults. */
  sentinelOptions?: Pick<SentinelTopologyOptions, 'minReplicasMaxLag' | 'downAfterMs'>;
  log?: Logger;
}

export interface ProcessInfo {
  name: string;
  kind: 'app' | 'redis' | 'sentinel' | 'ingress' | 'prometheus';
  port: number;
  pid: number | undefined;
  url?: string;
  log: string;
}

export interface Cluster {
  readonly topology: TopologyKind;
  readonly url: string;
  readonly runDir: string;
  readonly apps: AppProcess[];
  readonly ingress: Ingress;
  readonly standalone?: Standalone;
  readonly sentinel?: SentinelTopology;
  readonly redisCluster?: ClusterTopology;
  readonly prometheus?: PrometheusHandle;
  /** The namespace lab (network netns): one node per process, named like the process. */
  readonly net?: NetLab;
  /** min-replicas-max-lag of the Sentinel data nodes (seconds). */
  readonly minReplicasMaxLagSeconds: number;
  readonly appEnv: Record<string, string>;
  /** Every process with its port and pid (the ingress runs in this process). */
  processes(): ProcessInfo[];
  /** Redis data nodes (standalone: one). */
  redisNodes(): RedisProcess[];
  stop(): Promise<void>;
}

export function defaultRunDir(): string {
  return join(repoRoot(), '.run', timestamp());
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const log = opts.log ?? quietLogger;
  const replicas = opts.replicas ?? 3;
  if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`replicas must be >= 1, got ${replicas}`);
  const runDir = opts.runDir ?? defaultRunDir();
  mkdirSync(runDir, { recursive: true });
  const root = repoRoot();
  const mainJs = join(root, 'services/auth/dist/main.js');
  if (!existsSync(mainJs)) throw new Error(`${mainJs} missing: build first (npx tsc -b services/auth)`);

  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    // Reverse order: ingress and apps before Redis, so nothing logs a store outage on the way down.
    for (const s of stops.splice(0).reverse()) {
      try {
        await s();
      } catch (err) {
        log(`stop failed: ${(err as Error).message}`);
      }
    }
  };

  try {
    let net: NetLab | undefined;
    if (opts.network === 'netns') {
      if (opts.topology !== 'sentinel') throw new Error('network netns needs the sentinel topology');
      net = await createNetLab({ recordFile: join(runDir, 'netns.json') });
      log(`network namespaces ${net.prefix}-* on ${net.resources().subnet} (record: ${join(runDir, 'netns.json')})`);
      // First in, last out: every process is stopped before its namespace goes.
      stops.push(() => net!.destroy());
    }
    const lab = net;
    const placement = lab ? (name: string) => lab.place(name) : undefined;
    let standalone: Standalone | undefined;
    let sentinel: SentinelTopology | undefined;
    let redisCluster: ClusterTopology | undefined;
    const storeEnv: Record<string, string> = {};
    if (opts.topology === 'standalone' || opts.topology === 'replicated') {
      log('starting redis-server (standalone, appendonly yes)');
      // AOF on: a kill -9 and restart keeps what was acknowledged, like a real crash.
      standalone = await startStandalone({ baseDir: join(runDir, 'redis'), appendonly: true });
      stops.push(() => standalone!.stop());
      Object.assign(storeEnv, { SESSION_STORE: opts.topology === 'replicated' ? 'replicated' : 'redis', REDIS_URL: standalone.url });
    } else if (opts.topology === 'cluster') {
      const primaries = opts.primaries ?? 3;
      log(`starting Redis Cluster: ${primaries} primaries, 1 replica each`);
      redisCluster = await startClusterTopology({ baseDir: join(runDir, 'redis'), primaries });
      stops.push(() => redisCluster!.stop());
      Object.assign(storeEnv, {
        SESSION_STORE: 'cluster',
        REDIS_CLUSTER_NODES: redisCluster.addresses.map((a) => `${a.host}:${a.port}`).join(','),
      });
    } else {
      log('starting Redis primary + 2 replicas + 3 sentinels');
      sentinel = await startSentinelTopology({ baseDir: join(runDir, 'redis'), placement, ...opts.sentinelOptions });
      stops.push(() => sentinel!.stop());
      Object.assign(storeEnv, {
        SESSION_STORE: 'sentinel',
        REDIS_SENTINELS: sentinel.sentinelAddresses.map((a) => `${a.host}:${a.port}`).join(','),
        REDIS_MASTER_NAME: sentinel.masterName,
      });
    }

    const appEnv: Record<string, string> = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      COOKIE_SECURE: 'false',
      TRUST_PROXY: 'true',
      // One key for every replica of this cluster, new per cluster: a session made by one replica
      // validates on all of them, and nothing outlives the cluster.
      SESSION_KEYS: randomBytes(32).toString('base64url'),
      // Every simulated user comes through the ingress from 127.0.0.1: the per-IP login throttle
      // (100 per 15 min) would turn the load into 429s. The per-account throttle stays on.
      LOGIN_MAX_ATTEMPTS_PER_IP: '1000000',
      // A user whose valid session was refused (a stale side of a partition answers 401) logs in
      // again while that session still lives in the store; at the default cap (10) the oldest
      // would then be evicted and the ledger would count an eviction as a lost session.
      SESSION_MAX_PER_USER: '1000',
      SHUTDOWN_TIMEOUT_MS: '3000',
      ...storeEnv,
      ...opts.appEnv,
    };

    const apps: AppProcess[] = [];
    for (let i = 1; i <= replicas; i += 1) {
      const name = `app-${i}`;
      const at = placement ? await placement(name) : undefined;
      apps.push(createApp({ name, port: await freePort(), mainJs, logFile: join(runDir, `${name}.log`), env: appEnv, ...at }));
    }
    log(`starting ${replicas} auth replica(s)`);
    stops.push(async () => {
      await Promise.all(apps.map((a) => a.stop()));
    });
    await Promise.all(apps.map((a) => a.start()));

    const ingress = await startIngress({ port: opts.port, tls: opts.tls, backends: apps.map((a) => ({ name: a.name, url: a.url })) });
    stops.push(() => ingress.stop());

    let prometheus: PrometheusHandle | undefined;
    if (opts.observe) {
      log('starting prometheus');
      prometheus = await startPrometheus({
        dir: join(runDir, 'prometheus'),
        targets: apps.map((a) => `${a.host}:${a.port}`),
        ruleFiles: [join(root, 'charts/session-auth/files/prometheus/alerts.yaml')],
      });
      stops.push(() => prometheus!.stop());
    }

    // Wait until the ingress sees every replica ready (first active round).
    const readyDeadline = Date.now() + 10_000;
    while (Date.now() < readyDeadline && !ingress.backends().every((b) => b.lastStatus === 200)) {
      await new Promise((r) => setTimeout(r, 100));
    }

    const redisNodes = (): RedisProcess[] => (standalone ? [standalone.redis] : (sentinel?.redisNodes ?? redisCluster?.nodes ?? []));
    let stopping: Promise<void> | undefined;
    return {
      topology: opts.topology,
      url: ingress.url,
      runDir,
      apps,
      ingress,
      standalone,
      sentinel,
      redisCluster,
      prometheus,
      ...(net ? { net } : {}),
      minReplicasMaxLagSeconds: opts.sentinelOptions?.minReplicasMaxLag ?? 10,
      appEnv,
      redisNodes,
      processes() {
        const out: ProcessInfo[] = [{ name: 'ingress', kind: 'ingress', port: ingress.port, pid: process.pid, url: ingress.url, log: '(this process)' }];
        for (const a of apps) out.push({ name: a.name, kind: 'app', port: a.port, pid: a.pid(), url: a.url, log: a.logFile });
        for (const n of redisNodes()) out.push({ name: n.name, kind: 'redis', port: n.port, pid: n.pid(), log: n.logFile });
        for (const s of sentinel?.sentinels ?? []) out.push({ name: s.name, kind: 'sentinel', port: s.port, pid: s.pid(), log: s.logFile });
        if (prometheus) out.push({ name: 'prometheus', kind: 'prometheus', port: prometheus.port, pid: prometheus.pid, url: prometheus.url, log: prometheus.logFile });
        return out;
      },
      stop() {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** .run/current.json: what `npm run down` needs to stop everything by pid. */
export function writeCurrent(cluster: Cluster, file = join(repoRoot(), '.run', 'current.json')): string {
  mkdirSync(join(file, '..'), { recursive: true });
  const record = {
    ownerPid: process.pid,
    startedAt: new Date().toISOString(),
    topology: cluster.topology,
    url: cluster.url,
    runDir: cluster.runDir,
    prometheus: cluster.prometheus?.url,
    processes: cluster.processes(),
  };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}
