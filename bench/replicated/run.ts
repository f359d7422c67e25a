// `npm run bench:replicated`: replicated session storage (every replica holds every session,
// changes broadcast over a Redis Stream) measured against the centralized Redis store, with real
// redis-server processes and replicas in their own processes. Writes bench/replicated/results.md
// and results.json from the numbers of this run only.
//
// Env: RB_SIZES (10000,100000,1000000), RB_SAMPLES (1000), RB_SECONDS (3), RB_CONCURRENCY (32),
// RB_PARTITION_MS (5000).
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { startStandalone, type Standalone } from '../../packages/topology/src/index.js';
import { createReplicatedStore } from '../../services/auth/src/replication/store.js';
import { RedisSessionStore } from '../../services/auth/src/sessions/redis-store.js';
import { createStandaloneConnection } from '../../services/auth/src/redis/connection.js';
import { runScript, type RedisExec } from '../../services/auth/src/redis/exec.js';
import { CREATE_SESSION } from '../../services/auth/src/sessions/redis-scripts.js';
import { replicationLayout, R_CREATE } from '../../services/auth/src/replication/scripts.js';
import { encodeSession } from '../../services/auth/src/sessions/codec.js';
import { createLogger } from '../../services/auth/src/observability/logger.js';
import { createMetrics } from '../../services/auth/src/observability/metrics.js';
import type { SessionStore } from '../../services/auth/src/sessions/types.js';
import { record as sessionRecord } from '../../services/auth/test/support/records.js';
import { StoreError } from '../../services/auth/src/errors.js';

const env = (k: string, d: string) => process.env[k] || d;
const SIZES = env('RB_SIZES', '10000,100000,1000000').split(',').map(Number);
const SAMPLES = Number(env('RB_SAMPLES', '1000'));
const SECONDS = Number(env('RB_SECONDS', '3'));
const CONCURRENCY = Number(env('RB_CONCURRENCY', '32'));
const PARTITION_MS = Number(env('RB_PARTITION_MS', '5000'));
const NS = 'sa:v1:replication';
const IDLE = 1_800_000;
const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPLICA = fileURLToPath(new URL('./replica.ts', import.meta.url));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wall = () => performance.timeOrigin + performance.now();
const sid = () => randomBytes(32).toString('base64url').slice(0, 43);
const r2 = (x: number, d = 2) => (Number.isFinite(x) ? Number(x.toFixed(d)) : x);
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const log = (...a: unknown[]) => console.log(`[bench:replicated ${new Date().toISOString().slice(11, 19)}]`, ...a);

const record = (userId: string) =>
  sessionRecord(userId, Date.now(), { absoluteExpiresAt: Date.now() + 43_200_000, userAgent: 'Chrome 120 on Windows' });

/** The centralized store on `url`, as the app builds it (no replicas to WAIT for). */
async function centralStore(url: string): Promise<RedisSessionStore> {
  const conn = createStandaloneConnection(
    { url, password: undefined, commandTimeoutMs: 500, connectTimeoutMs: 500, waitReplicas: 0, waitTimeoutMs: 250 },
    createLogger('silent'),
    createMetrics({ defaultMetrics: false }),
  );
  await conn.ready;
  return new RedisSessionStore(conn, 'sa:v1:', 0);
}

/** A replica in this process (A, the writer of the fault tests). */
function replicaHere(url: string, blockMs?: number) {
  return createReplicatedStore({ url, commandTimeoutMs: 500, connectTimeoutMs: 500 }, { namespace: NS, ...(blockMs ? { blockMs } : {}) });
}

/** Retries `fn` every 10 ms until it succeeds; ms from `since` (wall clock) to that success, NaN if never. */
async function firstSuccess(since: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2000; i++) {
    try {
      await fn();
      return wall() - since;
    } catch {
      await sleep(10);
    }
  }
  return NaN;
}

// ------------------------------------------------------------------------------------------------
// Processes we start, stopped by pid at the end.

const children = new Set<ChildProcess>();
const servers: Standalone[] = [];
async function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const s of servers) await s.stop().catch(() => {});
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

interface Replica {
  child: ChildProcess;
  ready: Promise<{ readyMs: number; sessions: number; heapDelta: number; rssDelta: number; heapUsed: number; rss: number }>;
  call(cmd: string, extra?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /**
   * Starts watching `id` on the replica and resolves once it is watching; `at` then resolves with
   * the wall time get(id) there first found the session (present) or first no longer did.
   */
  watch(id: string, present: boolean): Promise<{ at: Promise<number> }>;
  /** Resolves once the replica holds `id`. */
  has(id: string): Promise<void>;
  kill(): Promise<void>;
}

function startReplica(url: string, mode: 'replicated' | 'redis'): Replica {
  const child = fork(REPLICA, [], {
    execArgv: ['--expose-gc', '--max-old-space-size=6144', '--import', 'tsx'],
    env: { ...process.env, REDIS_URL: url, MODE: mode, NS },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  let rid = 0;
  const waiting = new Map<number, (m: Record<string, unknown>) => void>();
  let readyResolve!: (m: never) => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<never>((res, rej) => ((readyResolve = res), (readyReject = rej)));
  child.on('exit', (code) => readyReject(new Error(`replica exited with ${code}`)));
  child.on('message', (m: Record<string, unknown> & { type: string }) => {
    if (m.type === 'ready') readyResolve(m as never);
    else if (m.type === 'reply') waiting.get(m.rid as number)?.(m);
  });
  const call = (cmd: string, extra: Record<string, unknown> = {}) => {
    const id = ++rid;
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`replica did not answer ${cmd}`)), 12_000);
      waiting.set(id, (m) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(m);
      });
      child.send({ cmd, rid: id, ...extra });
    });
  };
  return {
    child,
    ready,
    call,
    async watch(id, present) {
      const at = call('await', { id, present }).then((m) => Number(m.t));
      // IPC keeps order: once this answers, the replica is already polling for `id`.
      await call('ping');
      return { at };
    },
    async has(id) {
      for (let i = 0; i < 200 && !(await call('get', { id })).found; i++) await sleep(5);
    },
    async kill() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      children.delete(child);
    },
  };
}

async function redisClient(url: string) {
  const c = createClient({ url });
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function usedMemory(c: Awaited<ReturnType<typeof redisClient>>): Promise<number> {
  const info = String(await c.sendCommand(['INFO', 'memory']));
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/** Seeds n sessions through the real write scripts, a window of requests in flight. */
async function seed(exec: RedisExec, n: number, design: 'replicated' | 'redis'): Promise<string[]> {
  const layout = replicationLayout(NS, 100_000, 'bench');
  const ids: string[] = [];
  const WINDOW = 256;
  const t0 = performance.now();
  for (let i = 0; i < n; i += WINDOW) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(n, i + WINDOW); j++) {
      const id = sid();
      const user = `u${design[0]}${j.toString(36).padStart(8, '0')}`;
      const r = record(user);
      const now = Date.now();
      ids.push(id);
      batch.push(
        design === 'replicated'
          ? runScript(exec, R_CREATE, [...layout.base, layout.keys.userPrefix + user], [...layout.prelude(now), id, encodeSession(r), now + IDLE, r.createdAt, 10, r.absoluteExpiresAt])
          : runScript(exec, CREATE_SESSION, [`sa:v1:s:${id}`, `sa:v1:u:${user}:s`], [encodeSession(r), IDLE, r.createdAt, 10, 'sa:v1:s:', id, r.absoluteExpiresAt]),
      );
    }
    await Promise.all(batch);
  }
  log(`seeded ${n} ${design} sessions in ${r2((performance.now() - t0) / 1000, 1)} s`);
  return ids;
}

/** get() latency (one at a time) and throughput (CONCURRENCY in flight), SECONDS each. */
async function validationLoop(store: SessionStore, ids: string[]) {
  const lat: number[] = [];
  let end = performance.now() + SECONDS * 1000;
  let hits = 0;
  while (performance.now() < end) {
    const id = ids[(Math.random() * ids.length) | 0]!;
    const t = process.hrtime.bigint();
    if (await store.get(id)) hits++;
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  let ops = 0;
  end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      // Bounded: stops at the deadline; yields to the event loop between batches.
      for (let k = 0; performance.now() < end; k++) {
        await store.get(ids[(Math.random() * ids.length) | 0]!);
        ops++;
        if (k % 256 === 0) await new Promise((r) => setImmediate(r));
      }
    }),
  );
  return {
    p50Us: r2(pct(lat, 50) * 1000, 1),
    p99Us: r2(pct(lat, 99) * 1000, 1),
    hitRate: r2(hits / lat.length, 4),
    opsPerSec: Math.round(ops / ((performance.now() - t0) / 1000)),
  };
}

// ------------------------------------------------------------------------------------------------

const results: Record<string, unknown> = { startedAt: new Date().toISOString(), sizes: SIZES, samples: SAMPLES };

async function memoryAndThroughput() {
  const redis = await startStandalone({ name: 'bench-replicated-mem' });
  servers.push(redis);
  const c = await redisClient(redis.url);
  const exec: RedisExec = { send: (a) => c.sendCommand(a) as Promise<never> };
  const rows: Record<string, unknown>[] = [];
  for (const n of SIZES) {
    await c.sendCommand(['FLUSHALL']);
    await sleep(200);
    const m0 = await usedMemory(c);
    const rIds = await seed(exec, n, 'replicated');
    const m1 = await usedMemory(c);
    const rep = startReplica(redis.url, 'replicated');
    const rr = await rep.ready;
    const lagInfo = await rep.call('lag');
    await rep.kill();
    const cIds = await seed(exec, n, 'redis');
    const m2 = await usedMemory(c);
    const cen = startReplica(redis.url, 'redis');
    const cr = await cen.ready;
    await cen.kill();
    const row = {
      sessions: n,
      replicated: {
        replicaHeapBytesPerSession: r2(rr.heapDelta / n, 0),
        replicaRssBytesPerSession: r2(rr.rssDelta / n, 0),
        replicaHeapMiB: r2(rr.heapUsed / 2 ** 20, 1),
        replicaRssMiB: r2(rr.rss / 2 ** 20, 1),
        timeToReadyMs: r2(rr.readyMs, 0),
        loaded: rr.sessions,
        seq: lagInfo.seq,
        redisBytesPerSession: r2((m1 - m0) / n, 0),
      },
      centralized: {
        redisBytesPerSession: r2((m2 - m1) / n, 0),
        appHeapDeltaMiB: r2(cr.heapDelta / 2 ** 20, 2),
        appRssMiB: r2(cr.rss / 2 ** 20, 1),
      },
    };
    log('memory', JSON.stringify(row));
    rows.push(row);

    if (n === SIZES.find((s) => s >= 100_000) || (n === SIZES[SIZES.length - 1] && !results.validation)) {
      log(`validation loops at ${n} sessions`);
      const replicated = replicaHere(redis.url);
      await replicated.ready;
      const vr = await validationLoop(replicated, rIds);
      await replicated.close();
      const central = await centralStore(redis.url);
      const vc = await validationLoop(central, cIds);
      await central.close();
      results.validation = { sessions: n, concurrency: CONCURRENCY, seconds: SECONDS, replicated: vr, centralized: vc };
      log('validation', JSON.stringify(results.validation));
    }
  }
  results.memory = rows;
  await c.close();
  await redis.stop();
  servers.splice(servers.indexOf(redis), 1);
}

async function propagationAndFaults() {
  const redis = await startStandalone({ name: 'bench-replicated-faults', appendonly: true });
  servers.push(redis);
  const a = replicaHere(redis.url, 500);
  await a.ready;
  let b = startReplica(redis.url, 'replicated');
  await b.ready;
  const OPTS = { idleTimeoutMs: IDLE, maxPerUser: 10 };

  // --- propagation: create on A -> visible to get() on B (validation succeeds from then), revoke -> refused.
  const createDelay: number[] = [];
  const revokeDelay: number[] = [];
  const ackCreate: number[] = [];
  const ackRevoke: number[] = [];
  const ids: string[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const id = sid();
    ids.push(id);
    const seen = await b.watch(id, true);
    const t0 = wall();
    await a.create(id, record(`p${i}`), OPTS);
    ackCreate.push(wall() - t0);
    const t = await seen.at;
    if (Number.isFinite(t)) createDelay.push(t - t0);
  }
  for (const id of ids) {
    const seen = await b.watch(id, false);
    const t0 = wall();
    await a.revoke(id);
    ackRevoke.push(wall() - t0);
    const t = await seen.at;
    if (Number.isFinite(t)) revokeDelay.push(t - t0);
  }
  const dist = (xs: number[]) => ({ n: xs.length, p50Ms: r2(pct(xs, 50), 3), p99Ms: r2(pct(xs, 99), 3), maxMs: r2(Math.max(...xs), 3) });
  results.propagation = {
    createToValidOnB: dist(createDelay),
    revokeToRefusedOnB: dist(revokeDelay),
    createAckOnA: dist(ackCreate),
    revokeAckOnA: dist(ackRevoke),
  };
  log('propagation', JSON.stringify(results.propagation));

  const faults: Record<string, unknown> = {};
  // --- one replica partitioned (its stream reader stopped): how long it accepts a revoked session.
  {
    const id = sid();
    await a.create(id, record('part'), OPTS);
    await b.has(id);
    await b.call('pause');
    const t0 = wall();
    await a.revoke(id);
    let acceptedWhilePartitioned = 0;
    let checks = 0;
    let maxLag = 0;
    while (wall() - t0 < PARTITION_MS) {
      checks++;
      if ((await b.call('get', { id })).found) acceptedWhilePartitioned++;
      maxLag = Math.max(maxLag, Number((await b.call('lag')).lag));
      await sleep(100);
    }
    const tr = wall();
    await b.call('resume');
    let refusedAt = NaN;
    for (let i = 0; i < 1000; i++) {
      const g = await b.call('get', { id });
      if (!g.found) {
        refusedAt = Number(g.t);
        break;
      }
      await sleep(1);
    }
    faults.partition = {
      partitionMs: PARTITION_MS,
      checks,
      acceptedRevokedSession: acceptedWhilePartitioned,
      staleWindowMs: r2(refusedAt - t0, 1),
      catchUpAfterHealMs: r2(refusedAt - tr, 1),
      lagGaugeMaxSeconds: r2(maxLag, 2),
    };
    log('partition', JSON.stringify(faults.partition));
  }

  // --- transport killed (kill -9 Redis): validation continues on B, writes fail fast; the
  // centralized store fails validation outright. Then restart (AOF): writes resume, B catches up.
  {
    const existing = sid();
    await a.create(existing, record('kill'), OPTS);
    await b.has(existing);
    const central = await centralStore(redis.url);
    await central.create(existing, record('kill'), OPTS);

    const tKill = wall();
    await redis.redis.kill('SIGKILL');
    let repOk = 0;
    let repTotal = 0;
    let cenOk = 0;
    let cenTotal = 0;
    const writeFail: number[] = [];
    const kinds = new Set<string>();
    const cenWriteFail: number[] = [];
    const cenKinds = new Set<string>();
    while (wall() - tKill < SECONDS * 1000) {
      repTotal++;
      if ((await b.call('get', { id: existing })).found) repOk++;
      cenTotal++;
      try {
        if (await central.get(existing)) cenOk++;
      } catch {
        // Counted as a failed validation.
      }
      const tw = performance.now();
      try {
        await a.create(sid(), record('kill'), OPTS);
      } catch (err) {
        kinds.add(err instanceof StoreError ? err.kind : 'other');
      }
      writeFail.push(performance.now() - tw);
      const tc = performance.now();
      try {
        await central.create(sid(), record('kill'), OPTS);
      } catch (err) {
        cenKinds.add(err instanceof StoreError ? err.kind : 'other');
      }
      cenWriteFail.push(performance.now() - tc);
      await sleep(20);
    }
    const lagDown = Number((await b.call('lag')).lag);
    const tStart = wall();
    await redis.redis.start();
    const probe = sid();
    const writesBackMs = await firstSuccess(tStart, () => a.create(probe, record('kill'), OPTS));
    let bCaughtUpMs = NaN;
    for (let i = 0; i < 2000; i++) {
      const g = await b.call('get', { id: probe });
      if (g.found) {
        bCaughtUpMs = Number(g.t) - tStart;
        break;
      }
      await sleep(5);
    }
    faults.transportKilled = {
      downMs: r2(tStart - tKill, 0),
      replicatedValidationsOk: `${repOk}/${repTotal}`,
      centralizedValidationsOk: `${cenOk}/${cenTotal}`,
      writeFailureKinds: [...kinds],
      writeFailP50Ms: r2(pct(writeFail, 50), 2),
      writeFailP99Ms: r2(pct(writeFail, 99), 2),
      centralizedWriteFailureKinds: [...cenKinds],
      centralizedWriteFailP99Ms: r2(pct(cenWriteFail, 99), 2),
      lagGaugeBeforeRestartSeconds: r2(lagDown, 2),
      writesBackAfterRestartMs: r2(writesBackMs, 0),
      replicaCaughtUpAfterRestartMs: r2(bCaughtUpMs, 0),
      existingSessionSurvived: (await b.call('get', { id: existing })).found,
    };
    await central.close();
    log('transport killed', JSON.stringify(faults.transportKilled));
  }

  // --- Redis hung (SIGSTOP) for everyone: writes time out, validation continues, then recovers.
  {
    const existing = sid();
    await a.create(existing, record('hang'), OPTS);
    await b.has(existing);
    const hcentral = await centralStore(redis.url);
    await redis.redis.pause();
    const t0 = wall();
    const tg = performance.now();
    const cenGet = await hcentral.get(existing).then(
      () => 'ok',
      (e: unknown) => (e instanceof StoreError ? e.kind : 'other'),
    );
    const cenGetMs = performance.now() - tg;
    const tw = performance.now();
    const err = await a.create(sid(), record('hang'), OPTS).then(
      () => 'none',
      (e: unknown) => (e instanceof StoreError ? e.kind : 'other'),
    );
    const writeFailMs = performance.now() - tw;
    let ok = 0;
    let total = 0;
    while (wall() - t0 < SECONDS * 1000) {
      total++;
      if ((await b.call('get', { id: existing })).found) ok++;
      await sleep(50);
    }
    const lag = Number((await b.call('lag')).lag);
    await redis.redis.resume();
    const tr = wall();
    const probe = sid();
    const back = await firstSuccess(tr, () => a.create(probe, record('hang'), OPTS));
    faults.redisHung = {
      hungMs: r2(tr - t0, 0),
      writeFailureKind: err,
      writeFailMs: r2(writeFailMs, 1),
      replicatedValidationsOk: `${ok}/${total}`,
      lagGaugeSeconds: r2(lag, 2),
      writesBackAfterResumeMs: r2(back, 0),
      centralizedValidation: cenGet,
      centralizedValidationMs: r2(cenGetMs, 1),
    };
    await hcentral.close();
    log('redis hung', JSON.stringify(faults.redisHung));
  }

  // --- a replica killed and restarted: misses writes while down, catches up before ready.
  {
    await b.kill();
    const missed: string[] = [];
    for (let i = 0; i < 500; i++) {
      const id = sid();
      missed.push(id);
      await a.create(id, record(`m${i}`), OPTS);
    }
    const t0 = performance.now();
    b = startReplica(redis.url, 'replicated');
    const rr = await b.ready;
    const spawnToReadyMs = performance.now() - t0;
    let have = 0;
    for (const id of missed) if ((await b.call('get', { id })).found) have++;
    faults.replicaRestart = {
      writesWhileDown: missed.length,
      presentWhenReady: have,
      storeLoadMs: r2(rr.readyMs, 0),
      spawnToReadyMs: r2(spawnToReadyMs, 0),
      sessionsLoaded: rr.sessions,
    };
    log('replica restart', JSON.stringify(faults.replicaRestart));
  }
  results.faults = faults;
  await b.kill();
  await a.close();
  await redis.stop();
  servers.splice(servers.indexOf(redis), 1);
}

function renderMarkdown(): string {
  const mem = results.memory as {
    sessions: number;
    replicated: Record<string, number>;
    centralized: Record<string, number>;
  }[];
  const v = results.validation as { sessions: number; concurrency: number; seconds: number; replicated: Record<string, number>; centralized: Record<string, number> };
  const p = results.propagation as Record<string, { n: number; p50Ms: number; p99Ms: number; maxMs: number }>;
  const f = results.faults as Record<string, Record<string, unknown>>;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const lines: string[] = [];
  lines.push('# Replicated vs centralized session storage: measured');
  lines.push('');
  lines.push(`Produced by \`npm run bench:replicated\` (bench/replicated/run.ts) on ${results.startedAt}: ` +
    `real redis-server ${results.redisVersion ?? ''} processes on loopback, ${results.cores} cores, Node ${process.version}. ` +
    'Replicas run in their own processes; every figure below comes from this run (raw: results.json).');
  lines.push('');
  lines.push('## Comparison');
  lines.push('');
  lines.push('| | replicated (`SESSION_STORE=replicated`) | centralized (`SESSION_STORE=redis`) |');
  lines.push('|---|---|---|');
  for (const m of mem) {
    lines.push(`| memory per app replica, ${fmt(m.sessions)} sessions | heap ${m.replicated.replicaHeapMiB} MiB (${m.replicated.replicaHeapBytesPerSession} B/session), RSS ${m.replicated.replicaRssMiB} MiB (+${m.replicated.replicaRssBytesPerSession} B/session) | flat: heap Δ ${m.centralized.appHeapDeltaMiB} MiB, RSS ${m.centralized.appRssMiB} MiB |`);
  }
  for (const m of mem) {
    lines.push(`| Redis memory per session, ${fmt(m.sessions)} sessions | ${m.replicated.redisBytesPerSession} B (snapshot + stream ≤ 100k entries + indexes) | ${m.centralized.redisBytesPerSession} B |`);
  }
  for (const m of mem) {
    lines.push(`| replica start → ready, ${fmt(m.sessions)} sessions | ${fmt(m.replicated.timeToReadyMs!)} ms (loads all ${fmt(m.replicated.loaded!)}) | connect only |`);
  }
  lines.push(`| validation latency, get() one at a time (${fmt(v.sessions)} sessions) | p50 ${v.replicated.p50Us} µs, p99 ${v.replicated.p99Us} µs | p50 ${v.centralized.p50Us} µs, p99 ${v.centralized.p99Us} µs |`);
  lines.push(`| validation throughput, ${v.concurrency} in flight, one process | ${fmt(v.replicated.opsPerSec!)} /s | ${fmt(v.centralized.opsPerSec!)} /s |`);
  lines.push(`| create on A → valid on B (n=${p.createToValidOnB!.n}) | p50 ${p.createToValidOnB!.p50Ms} ms, p99 ${p.createToValidOnB!.p99Ms} ms, max ${p.createToValidOnB!.maxMs} ms | 0: B reads the same store (read-your-writes) |`);
  lines.push(`| revoke on A → refused on B (n=${p.revokeToRefusedOnB!.n}) | p50 ${p.revokeToRefusedOnB!.p50Ms} ms, p99 ${p.revokeToRefusedOnB!.p99Ms} ms, max ${p.revokeToRefusedOnB!.maxMs} ms | 0 |`);
  lines.push(`| write acknowledged on A | create p50 ${p.createAckOnA!.p50Ms} ms / p99 ${p.createAckOnA!.p99Ms} ms; revoke p50 ${p.revokeAckOnA!.p50Ms} ms | one script round trip (same order) |`);
  const tk = f.transportKilled!;
  lines.push(`| Redis killed (kill -9), ${tk.downMs} ms down: validations | ${tk.replicatedValidationsOk} succeed (from memory) | ${tk.centralizedValidationsOk} succeed |`);
  lines.push(`| Redis killed: writes | fail fast, kind ${(tk.writeFailureKinds as string[]).join('/')} (503), p50 ${tk.writeFailP50Ms} ms, p99 ${tk.writeFailP99Ms} ms | fail too: kind ${(tk.centralizedWriteFailureKinds as string[]).join('/')}, p99 ${tk.centralizedWriteFailP99Ms} ms |`);
  lines.push(`| Redis restarted (AOF) | writes back after ${tk.writesBackAfterRestartMs} ms, replica B caught up after ${tk.replicaCaughtUpAfterRestartMs} ms; lag gauge read ${tk.lagGaugeBeforeRestartSeconds} s before the restart | validation and writes both down until Redis is back |`);
  const h = f.redisHung!;
  lines.push(`| Redis hung (SIGSTOP) ${h.hungMs} ms | validations ${h.replicatedValidationsOk}; a write fails as ${h.writeFailureKind} after ${h.writeFailMs} ms; writes back ${h.writesBackAfterResumeMs} ms after SIGCONT | a validation fails as ${h.centralizedValidation} after ${h.centralizedValidationMs} ms (every request 503) |`);
  const pa = f.partition!;
  lines.push(`| one replica partitioned ${pa.partitionMs} ms (its reader stopped) | accepted a revoked session in ${pa.acceptedRevokedSession}/${pa.checks} checks; stale window ${pa.staleWindowMs} ms; caught up ${pa.catchUpAfterHealMs} ms after healing; lag gauge peaked at ${pa.lagGaugeMaxSeconds} s | n/a: no local copy to go stale |`);
  const rr = f.replicaRestart!;
  lines.push(`| replica killed, ${rr.writesWhileDown} writes while down, restarted | ready after ${rr.spawnToReadyMs} ms from spawn (store load ${rr.storeLoadMs} ms), ${rr.presentWhenReady}/${rr.writesWhileDown} present when ready | nothing to catch up |`);
  lines.push('');
  lines.push('Method: sessions seeded through the real write scripts, one user per session (so each session also pays for');
  lines.push('its user index, in both designs); app memory is the replica process after a forced GC, minus the same');
  lines.push('process before the store was created (RSS deltas at 10k are dominated by heap growth granularity).');
  lines.push('Validation latency and throughput are in-process `store.get()` loops (no HTTP), one process. Propagation is');
  lines.push('measured from just before `create`/`revoke` is called on A (parent process) to the moment replica B (its own');
  lines.push('process) applied the event, on the shared wall clock; from then on B validates/refuses without a network hop.');
  lines.push('The centralized rows that read "0" need no measurement: B reads the store A wrote to.');
  lines.push('');
  lines.push('## When each design is right');
  lines.push('');
  lines.push('- **Centralized (Redis, with Sentinel)** is the default: memory is paid once (in Redis), app replicas stay small and');
  lines.push('  stateless, a revocation is effective on every replica the moment it is acknowledged, and a login is valid');
  lines.push('  everywhere at once. Its cost is one loopback/LAN round trip per validation and a hard dependency: when Redis');
  lines.push('  is gone, validation is gone (the rows above), which Sentinel shortens to a failover.');
  lines.push('- **Replicated** wins when validation must not depend on the network (edge or multi-region replicas, a store');
  lines.push('  that is allowed to be down), and the session population is small enough that every replica can hold all of');
  lines.push('  it (the memory rows: per-replica memory grows linearly with sessions, times the number of replicas, and a');
  lines.push('  restarted replica must load everything before it is ready). It pays with asynchronous revocation: the');
  lines.push('  propagation rows in the good case, and the whole partition in the bad case (bounded only by');
  lines.push('  `REPLICATED_MAX_STALENESS_SECONDS`, which trades availability back for a staleness bound). Writes still need');
  lines.push('  the transport, so logins and logouts fail exactly as in the centralized design.');
  lines.push('- At millions of sessions, or where "logout means logged out everywhere, now" is a requirement, choose the');
  lines.push('  centralized store. At thousands to low hundreds of thousands, with read-mostly traffic and a need to');
  lines.push('  survive the store, replication is a fair trade. See docs/replicated.md for the design and its reasoning.');
  lines.push('');
  return lines.join('\n');
}

try {
  const probe = await startStandalone({ name: 'bench-replicated-probe' });
  const pc = await redisClient(probe.url);
  results.redisVersion = /redis_version:([^\r\n]+)/.exec(String(await pc.sendCommand(['INFO', 'server'])))?.[1];
  results.cores = (await import('node:os')).availableParallelism();
  await pc.close();
  await probe.stop();
  await propagationAndFaults();
  await memoryAndThroughput();
  results.finishedAt = new Date().toISOString();
  writeFileSync(`${HERE}/results.json`, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(`${HERE}/results.md`, renderMarkdown());
  log('wrote bench/replicated/results.md');
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
