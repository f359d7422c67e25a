// The cluster section of `npm run bench`: throughput with 1, 3 and 6 primaries (1 replica each) at
// the same app process count, end to end (GET /auth/me through the app processes) and at the
// store (several processes GETting session keys through the service's cluster connection), as
// ratios against 1 primary measured in the same run; and Redis memory per session in cluster
// mode next to standalone, seeded the same way in the same run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { command, freePort, startClusterTopology, startStandalone, type ClusterTopology } from '@session-auth/topology';
import { createClusterConnection } from '../../services/auth/src/redis/cluster.js';
import { sessionIdFromToken } from '../../services/auth/src/sessions/token.js';
import { createLogger } from '../../services/auth/src/observability/logger.js';
import { createMetrics } from '../../services/auth/src/observability/metrics.js';
import { runLoad } from '../lib/load.js';
import { ROOT, spawnNode, spawnTs, waitHttp, type Child } from '../lib/procs.js';
import { median, round } from '../lib/stats.js';
import { Seeder, signedCookie } from '../lib/seed.js';

export interface ClusterBenchConfig {
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  primaries: number[];
  appProcesses: number;
  connectionsPerApp: number;
  storeWorkers: number;
  storeConcurrency: number;
  memorySessions: number;
  sessionKey: string;
}

interface PerPrimaries {
  primaries: number;
  /** GET /auth/me 2xx per second summed over the app processes, per round. */
  appRps: number[];
  appRpsMedian: number;
  appNon2xx: number;
  /** Store GETs per second summed over the store workers, per round. */
  storeOps: number[];
  storeOpsMedian: number;
  storeErrors: number;
  /** Per store round, from each primary's INFO deltas (see primaryUsage). */
  redis: RedisRound[];
  /** Median over rounds of the Redis-bound capacity projected from CPU time (see RedisRound). */
  projectedOpsMedian: number;
}

/**
 * What the primaries spent on one store round, from their own INFO counters. On 2 shared cores
 * Redis cannot be driven to its limit, but its CPU time per command can be measured: a primary is
 * one thread, so it saturates at one core-second per second, and the cluster saturates when its
 * busiest primary does. At that point the busiest primary runs busiest.commands / busiest.cpu
 * commands per second and the whole cluster 1 / busiestShare times that, i.e.
 * projectedOps = all commands / the busiest primary's CPU seconds. No wall clock is involved.
 */
interface RedisRound {
  commands: number;
  /** CPU µs (user + sys) per command, over all primaries. */
  cpuUsPerCommand: number;
  /** The busiest primary's share of the commands (1 / primaries when balanced). */
  busiestShare: number;
  /** Commands per second the primaries could serve when the busiest one uses a full core. */
  projectedOps: number;
}

interface UsageSample {
  cpuSeconds: number;
  commands: number;
}

async function primaryUsage(topo: ClusterTopology): Promise<UsageSample[]> {
  const out: UsageSample[] = [];
  for (const shard of await topo.shards()) {
    const info = String(await command(shard.primary, ['INFO', 'everything']));
    const num = (k: string): number => Number(new RegExp(`^${k}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN);
    out.push({ cpuSeconds: num('used_cpu_user') + num('used_cpu_sys'), commands: num('total_commands_processed') });
  }
  return out;
}

function redisRound(before: UsageSample[], after: UsageSample[]): RedisRound {
  const d = after.map((a, i) => ({ cpu: a.cpuSeconds - before[i]!.cpuSeconds, commands: a.commands - before[i]!.commands }));
  const commands = d.reduce((x, y) => x + y.commands, 0);
  const cpu = d.reduce((x, y) => x + y.cpu, 0);
  const busiest = d.reduce((x, y) => (y.cpu > x.cpu ? y : x));
  return {
    commands,
    cpuUsPerCommand: round((cpu * 1e6) / commands, 3),
    busiestShare: round(busiest.commands / commands, 3),
    projectedOps: round(commands / busiest.cpu, 0),
  };
}

export interface ClusterResults {
  config: Omit<ClusterBenchConfig, 'sessionKey'>;
  runs: PerPrimaries[];
  memory: { sessions: number; standaloneBytesPerSession: number; clusterBytesPerSession: number; clusterPrimaries: number };
}

type Log = (m: string) => void;

function clusterConn(topo: ClusterTopology) {
  return createClusterConnection(
    { nodes: topo.addresses, password: undefined, commandTimeoutMs: 30_000, connectTimeoutMs: 2000, waitReplicas: 0, waitTimeoutMs: 250 },
    createLogger('warn'),
    createMetrics({ defaultMetrics: false }),
  );
}

async function usedMemory(endpoints: { host: string; port: number }[]): Promise<number> {
  let sum = 0;
  for (const e of endpoints) sum += Number(/used_memory:(\d+)/.exec(String(await command(e, ['INFO', 'memory'])))?.[1] ?? NaN);
  return sum;
}

async function startApps(topo: ClusterTopology, cfg: ClusterBenchConfig): Promise<{ children: Child[]; bases: string[] }> {
  const children: Child[] = [];
  const bases: string[] = [];
  for (let i = 0; i < cfg.appProcesses; i++) {
    const port = await freePort();
    const child = spawnNode(`auth-cluster-${i + 1}`, ['services/auth/dist/main.js'], {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      SESSION_KEYS: cfg.sessionKey,
      COOKIE_SECURE: 'false',
      HOST: '127.0.0.1',
      PORT: String(port),
      SESSION_STORE: 'cluster',
      REDIS_CLUSTER_NODES: topo.addresses.map((a) => `${a.host}:${a.port}`).join(','),
    });
    children.push(child);
    bases.push(`http://127.0.0.1:${port}`);
  }
  await Promise.all(bases.map((b, i) => waitHttp(`${b}/readyz`, children[i]!, 30_000)));
  return { children, bases };
}

/** Store workers at once; total GETs per second. */
async function storeLoad(topo: ClusterTopology, keysFile: string, cfg: ClusterBenchConfig, seconds: number): Promise<{ ops: number; errors: number }> {
  const runs = await Promise.all(
    Array.from({ length: cfg.storeWorkers }, async (_, i) => {
      const child = spawnTs(`store-worker-${i + 1}`, join(ROOT, 'bench/cluster/store-worker.ts'), {
        NODE_ENV: 'production',
        CLUSTER_NODES: JSON.stringify(topo.addresses),
        KEYS_FILE: keysFile,
        SECONDS: String(seconds),
        CONCURRENCY: String(cfg.storeConcurrency),
      });
      let out = '';
      child.proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
      const code = await new Promise<number | null>((r) => child.proc.once('exit', (c) => r(c)));
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) throw new Error(`store worker failed (exit ${code}):\n${child.output()}`);
      return JSON.parse(line) as { ops: number; seconds: number; errors: number };
    }),
  );
  return { ops: runs.reduce((a, r) => a + r.ops / r.seconds, 0), errors: runs.reduce((a, r) => a + r.errors, 0) };
}

async function onePrimaryCount(primaries: number, cfg: ClusterBenchConfig, log: Log): Promise<PerPrimaries> {
  const topo = await startClusterTopology({ primaries, appendonly: false });
  const conn = clusterConn(topo);
  const apps: { children: Child[]; bases: string[] } = { children: [], bases: [] };
  try {
    await conn.ready;
    const seeder = new Seeder(conn, true);
    const tokens = await seeder.seedTo(2000, { sample: 1000 });
    const cookies = tokens.map((t) => signedCookie('sid', t, cfg.sessionKey));
    const keysFile = join(topo.baseDir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify(tokens.map((t) => `sa:v1:s:${sessionIdFromToken(t)}`)));
    Object.assign(apps, await startApps(topo, cfg));
    const appLoad = (seconds: number) =>
      Promise.all(apps.bases.map((b) => runLoad({ url: `${b}/auth/me`, connections: cfg.connectionsPerApp, seconds, cookies })));
    await appLoad(cfg.warmupSeconds);
    await storeLoad(topo, keysFile, cfg, cfg.warmupSeconds);
    const appRps: number[] = [];
    const storeOps: number[] = [];
    let appNon2xx = 0;
    let storeErrors = 0;
    const redis: RedisRound[] = [];
    for (let r = 0; r < cfg.rounds; r++) {
      const res = await appLoad(cfg.seconds);
      appRps.push(round(res.reduce((a, x) => a + x.rps, 0), 0));
      appNon2xx += res.reduce((a, x) => a + x.non2xx + x.errors, 0);
      const before = await primaryUsage(topo);
      const st = await storeLoad(topo, keysFile, cfg, cfg.seconds);
      redis.push(redisRound(before, await primaryUsage(topo)));
      storeOps.push(round(st.ops, 0));
      storeErrors += st.errors;
      log(`cluster ${primaries} primaries, round ${r + 1}: /auth/me ${appRps.at(-1)} req/s, store GET ${storeOps.at(-1)} ops/s`);
    }
    await seeder.close();
    return {
      primaries,
      appRps,
      appRpsMedian: median(appRps),
      appNon2xx,
      storeOps,
      storeOpsMedian: median(storeOps),
      storeErrors,
      redis,
      projectedOpsMedian: median(redis.map((x) => x.projectedOps)),
    };
  } finally {
    await Promise.all(apps.children.map((c) => c.stop()));
    await conn.close().catch(() => {});
    await topo.stop();
  }
}

async function memory(cfg: ClusterBenchConfig, log: Log): Promise<ClusterResults['memory']> {
  const standalone = await startStandalone({ name: 'redis-bench-memory' });
  const topo = await startClusterTopology({ primaries: 3, appendonly: false });
  const conn = clusterConn(topo);
  try {
    const plain = new Seeder(standalone.url);
    await plain.conn.ready;
    const base = await plain.usedMemory();
    await plain.seedTo(cfg.memorySessions);
    const standaloneBytes = ((await plain.usedMemory()) - base) / cfg.memorySessions;
    await plain.close();
    await conn.ready;
    const primaries = (await topo.shards()).map((s) => s.primary);
    const cbase = await usedMemory(primaries);
    const tagged = new Seeder(conn, true);
    await tagged.seedTo(cfg.memorySessions);
    const clusterBytes = ((await usedMemory(primaries)) - cbase) / cfg.memorySessions;
    await tagged.close();
    log(`memory per session: standalone ${standaloneBytes.toFixed(1)} B, cluster ${clusterBytes.toFixed(1)} B (sum over 3 primaries)`);
    return { sessions: cfg.memorySessions, standaloneBytesPerSession: round(standaloneBytes, 1), clusterBytesPerSession: round(clusterBytes, 1), clusterPrimaries: 3 };
  } finally {
    await conn.close().catch(() => {});
    await topo.stop();
    await standalone.stop();
  }
}

export async function clusterSection(cfg: ClusterBenchConfig, log: Log): Promise<ClusterResults> {
  const runs: PerPrimaries[] = [];
  for (const p of cfg.primaries) runs.push(await onePrimaryCount(p, cfg, log));
  const { sessionKey: _key, ...config } = cfg;
  return { config, runs, memory: await memory(cfg, log) };
}

export function renderCluster(r: ClusterResults, machine: Readonly<Record<string, string | number>>): string {
  const one = r.runs.find((x) => x.primaries === 1) ?? r.runs[0]!;
  const rows = r.runs.map(
    (x) =>
      `| ${x.primaries} | ${x.appRpsMedian.toLocaleString('en-US')} | ${(x.appRpsMedian / one.appRpsMedian).toFixed(2)}x | ${x.storeOpsMedian.toLocaleString('en-US')} | ${(x.storeOpsMedian / one.storeOpsMedian).toFixed(2)}x | ${x.appNon2xx} / ${x.storeErrors} |`,
  );
  return [
    '# Cluster benchmark',
    '',
    `Produced by \`npm run bench\` (bench/cluster/section.ts) on ${String(machine.date)}, ${String(machine.nproc)} cores. Every number below comes from that run.`,
    `Each primary count: a fresh Redis Cluster (1 replica per primary, AOF off), 2,000 sessions seeded, ${r.config.appProcesses} app processes`,
    `(SESSION_STORE=cluster) each loaded by its own autocannon at ${r.config.connectionsPerApp} connections, then ${r.config.storeWorkers} store processes`,
    `GETting session keys through the service's cluster connection at ${r.config.storeConcurrency} in flight each; medians of ${r.config.rounds} rounds x ${r.config.seconds} s`,
    `after a ${r.config.warmupSeconds} s warm-up. Load average (1/5/15 min) at start: ${String(machine.loadAverageAtStart)}; at end: ${String(machine.loadAverageAtEnd ?? 'n/a')}`,
    '(above ~2 on 2 cores: other work was competing for the CPU, and the figures carry its noise).',
    '',
    '| primaries | /auth/me req/s | / 1 primary | store GET/s | / 1 primary | failed (app / store) |',
    '|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Per round: ${r.runs.map((x) => `${x.primaries}p /auth/me ${x.appRps.join(', ')}; store ${x.storeOps.join(', ')}`).join(' | ')}`,
    '',
    'On this machine every process (app, load generators, every redis-server) shares the same cores, so neither figure is limited by',
    'Redis: an app process spends far more CPU per request than Redis does, and more primaries only add processes competing for the',
    'same cores. The ratios say what sharding costs or gains when Redis is *not* the bottleneck, not how far it scales on machines of its own.',
    '',
    '## Redis-bound capacity, projected from CPU time',
    '',
    'Each store round also read every primary\'s `INFO` before and after: CPU seconds (user + sys) and commands processed. A primary',
    'is one thread, so it saturates at one core, and a cluster saturates when its busiest primary does; then the whole cluster serves',
    '"all commands / the busiest primary\'s CPU seconds" per second (medians over rounds). This is the scaling figure this machine can',
    'give: it rests on measured CPU per command and the measured balance of keys over the shards, not on driving Redis to its limit',
    '(which 2 shared cores cannot do). It assumes each primary gets a core of its own and that neither the network nor the clients',
    'are the limit; CPU per command grows when a primary sees fewer commands per event-loop pass (less pipelining), which is measured.',
    '',
    '| primaries | commands per round | CPU µs per command (all primaries) | busiest primary\'s share of commands | projected commands/s at saturation | / 1 primary |',
    '|---:|---:|---:|---:|---:|---:|',
    ...r.runs.map((x) => {
      const m = (f: (q: RedisRound) => number): number => median(x.redis.map(f));
      return `| ${x.primaries} | ${m((q) => q.commands).toLocaleString('en-US')} | ${m((q) => q.cpuUsPerCommand).toFixed(2)} | ${(m((q) => q.busiestShare) * 100).toFixed(1)} % | ${x.projectedOpsMedian.toLocaleString('en-US')} | ${(x.projectedOpsMedian / one.projectedOpsMedian).toFixed(2)}x |`;
    }),
    '',
    `Memory per session (${r.memory.sessions.toLocaleString('en-US')} sessions seeded through \`RedisSessionStore.create\`, used_memory delta; cluster: summed over its ${r.memory.clusterPrimaries} primaries, each replica holds one more copy):`,
    '',
    '| | bytes per session |',
    '|---|---:|',
    `| standalone (22-character ids) | ${r.memory.standaloneBytesPerSession} |`,
    `| cluster (ids led by the user's \`{tag}\`, 28 characters) | ${r.memory.clusterBytesPerSession} |`,
    `| ratio | ${(r.memory.clusterBytesPerSession / r.memory.standaloneBytesPerSession).toFixed(2)}x |`,
    '',
  ].join('\n');
}
