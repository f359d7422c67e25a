// `npm run bench`: the service's GET /auth/me against a bare Koa ceiling and two peer session
// stacks, alternating contenders over rounds; then login throughput (and validation under a login
// storm); then store cost (Redis memory per session, latency at 10k vs 1M sessions).
// Writes bench/results.md and bench/results.json from the numbers of this run only.
//
// Env: BENCH_SECONDS (5), BENCH_ROUNDS (5), BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (50),
// BENCH_SECTIONS (contenders,login,store), BENCH_LOGIN_CONNECTIONS (8), BENCH_LOGIN_ROUNDS (3),
// BENCH_VALIDATE_CONNECTIONS (10), BENCH_STORE_CONNECTIONS (4), BENCH_SMALL_SESSIONS (10000),
// BENCH_MEMORY_SESSIONS (100000), BENCH_LARGE_SESSIONS (1000000), BENCH_OUT (bench).
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startSentinelTopology, startStandalone } from '@session-auth/topology';
import { runLoad, type LoadResult, type LoadSpec } from './lib/load.js';
import { cleanupAll, installSignalHandlers, onCleanup, ROOT, spawnNode, spawnTs, waitHttp, type Child } from './lib/procs.js';
import { median, round } from './lib/stats.js';
import { Seeder, signedCookie } from './lib/seed.js';
import { renderMarkdown, type Results, type Summary, type Target } from './lib/report.js';

const num = (name: string, def: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${v}"`);
  return n;
};

const cfg = {
  seconds: num('BENCH_SECONDS', 5),
  rounds: num('BENCH_ROUNDS', 5),
  warmupSeconds: num('BENCH_WARMUP_SECONDS', 3),
  connections: num('BENCH_CONNECTIONS', 50),
  loginConnections: num('BENCH_LOGIN_CONNECTIONS', 8),
  loginRounds: num('BENCH_LOGIN_ROUNDS', 3),
  validateConnections: num('BENCH_VALIDATE_CONNECTIONS', 10),
  storeConnections: num('BENCH_STORE_CONNECTIONS', 4),
  smallSessions: num('BENCH_SMALL_SESSIONS', 10_000),
  memorySessions: num('BENCH_MEMORY_SESSIONS', 100_000),
  largeSessions: num('BENCH_LARGE_SESSIONS', 1_000_000),
  sections: (process.env.BENCH_SECTIONS ?? 'contenders,login,store').split(',').map((s) => s.trim()),
  out: process.env.BENCH_OUT ?? join(ROOT, 'bench'),
};

const SESSION_KEY = 'bench-session-key-0123456789-0123456789-abcdef';
const PASSWORD = 'correct horse battery staple';
const log = (m: string) => console.error(`[bench] ${m}`);

function summarise(runs: LoadResult[]): Summary {
  return {
    rps: round(median(runs.map((r) => r.rps)), 0),
    p50: round(median(runs.map((r) => r.p50)), 3),
    p99: round(median(runs.map((r) => r.p99)), 3),
    non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
    errors: runs.reduce((a, r) => a + r.errors + r.timeouts, 0),
    rounds: runs.map((r) => ({ rps: round(r.rps, 0), p50: round(r.p50, 3), p99: round(r.p99, 3), non2xx: r.non2xx, errors: r.errors })),
  };
}

function machine() {
  const sh = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: sh('nproc', []),
    availableParallelism: availableParallelism(),
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    node: process.version,
    redis: sh('redis-server', ['--version']),
    autocannon: (JSON.parse(readFileSync(join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')) as { version: string }).version,
    date: new Date().toISOString(),
    loadAverageAtStart: loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

interface Server {
  readonly child: Child;
  readonly base: string;
}

const serviceEnv = (port: number, env: Record<string, string>) => ({
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  SESSION_KEYS: SESSION_KEY,
  // Plain HTTP on loopback: a Secure cookie would never be sent back (TLS ends at the ingress).
  COOKIE_SECURE: 'false',
  HOST: '127.0.0.1',
  PORT: String(port),
  // The login benchmark sends every attempt from 127.0.0.1; the per-IP throttle would answer 429.
  LOGIN_MAX_ATTEMPTS_PER_IP: '100000000',
  ...env,
});

async function startService(name: string, env: Record<string, string>, nodeFlags: string[] = []): Promise<Server> {
  const port = await freePort();
  const child = spawnNode(name, [...nodeFlags, 'services/auth/dist/main.js'], serviceEnv(port, env));
  const base = `http://127.0.0.1:${port}`;
  await waitHttp(`${base}/readyz`, child, 30_000);
  return { child, base };
}

async function startPeer(name: string, file: string, env: Record<string, string>, probe: string): Promise<Server> {
  const port = await freePort();
  const child = spawnTs(name, join(ROOT, 'bench/peers', file), { NODE_ENV: 'production', PORT: String(port), ...env });
  const base = `http://127.0.0.1:${port}`;
  await waitHttp(`${base}${probe}`, child);
  return { child, base };
}

function cookieHeader(res: Response): string {
  const set = res.headers.getSetCookie();
  if (!set.length) throw new Error(`no Set-Cookie from ${res.url}`);
  return set.map((c) => c.split(';')[0]).join('; ');
}

async function registerUser(base: string, email: string): Promise<void> {
  const r = await fetch(`${base}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (r.status !== 201 && r.status !== 409) throw new Error(`register ${email}: ${r.status} ${await r.text()}`);
  await r.arrayBuffer().catch(() => {});
}

async function serviceLogin(base: string, email: string): Promise<string> {
  await registerUser(base, email);
  const r = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
  return cookieHeader(r);
}

async function peerLogin(base: string): Promise<string> {
  const r = await fetch(`${base}/login`, { method: 'POST' });
  if (r.status !== 200) throw new Error(`peer login: ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
  return cookieHeader(r);
}

async function expectOk(url: string, cookie?: string): Promise<void> {
  const r = await fetch(url, cookie ? { headers: { cookie } } : {});
  const text = await r.text();
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${text}`);
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

interface Contender {
  readonly name: string;
  readonly note: string;
  readonly spec: Omit<LoadSpec, 'seconds'>;
}

async function contenders(redisUrl: string, results: Results): Promise<void> {
  log('starting contenders');
  const topo = await startSentinelTopology();
  onCleanup(() => topo.stop());
  const sentinels = topo.sentinelAddresses.map((a) => `${a.host}:${a.port}`).join(',');

  const [ceiling, memory, redis, sentinel, koaPlain, express] = await Promise.all([
    startPeer('ceiling', 'ceiling.ts', {}, '/'),
    startService('auth-memory', { SESSION_STORE: 'memory' }),
    startService('auth-redis', { SESSION_STORE: 'redis', REDIS_URL: redisUrl }),
    startService('auth-sentinel', { SESSION_STORE: 'sentinel', REDIS_SENTINELS: sentinels }),
    startPeer('koa-session-plain', 'koa-session-plain.ts', { REDIS_URL: redisUrl }, '/healthz'),
    startPeer('express-session', 'express-session.ts', { REDIS_URL: redisUrl }, '/healthz'),
  ]);
  const list: Contender[] = [];
  const add = async (name: string, note: string, url: string, cookie?: string) => {
    await expectOk(url, cookie);
    list.push({ name, note, spec: { url, connections: cfg.connections, ...(cookie ? { cookies: [cookie] } : {}) } });
  };
  await add('ceiling', 'bare Koa GET / (small JSON), no session', `${ceiling.base}/`);
  await add('auth /auth/me memory', 'this service, SESSION_STORE=memory', `${memory.base}/auth/me`, await serviceLogin(memory.base, 'bench.me@example.com'));
  await add('auth /auth/me redis', 'this service, SESSION_STORE=redis (standalone)', `${redis.base}/auth/me`, await serviceLogin(redis.base, 'bench.me@example.com'));
  await add('auth /auth/me sentinel', 'this service, SESSION_STORE=sentinel (1 primary, 2 replicas, 3 sentinels)', `${sentinel.base}/auth/me`, await serviceLogin(sentinel.base, 'bench.me@example.com'));
  await add('koa-session-plain', 'koa-session + README-style node-redis store (GET/SET JSON)', `${koaPlain.base}/me`, await peerLogin(koaPlain.base));
  await add('express-session', 'express-session + connect-redis (defaults: TTL touch per request)', `${express.base}/me`, await peerLogin(express.base));

  log(`warm-up ${cfg.warmupSeconds}s each`);
  for (const c of list) await runLoad({ ...c.spec, seconds: cfg.warmupSeconds });

  const runs = new Map<string, LoadResult[]>(list.map((c) => [c.name, []]));
  for (let r = 0; r < cfg.rounds; r++) {
    // Rotate the order every round so no contender always runs first (or right after the ceiling).
    const order = list.map((_, i) => list[(i + r) % list.length]!);
    for (const c of order) {
      const res = await runLoad({ ...c.spec, seconds: cfg.seconds });
      runs.get(c.name)!.push(res);
      log(`round ${r + 1}/${cfg.rounds} ${c.name}: ${res.rps.toFixed(0)} req/s p50 ${res.p50.toFixed(2)} ms p99 ${res.p99.toFixed(2)} ms${res.non2xx ? ` non2xx ${res.non2xx}` : ''}`);
    }
  }
  results.contenders = list.map((c) => ({ name: c.name, note: c.note, ...summarise(runs.get(c.name)!) }));
  for (const s of [ceiling, memory, redis, sentinel, koaPlain, express]) await s.child.stop();
  await topo.stop();
}

async function login(redisUrl: string, results: Results): Promise<void> {
  log('login section');
  const svc = await startService('auth-login', { SESSION_STORE: 'redis', REDIS_URL: redisUrl, REDIS_KEY_PREFIX: 'login:v1:' });
  try {
    const users = Array.from({ length: 16 }, (_, i) => `storm.user${String(i).padStart(2, '0')}@example.com`);
    for (const u of users) await registerUser(svc.base, u);
    const validator = await serviceLogin(svc.base, 'bench.validator@example.com');
    const loginSpec: LoadSpec = {
      url: `${svc.base}/auth/login`,
      method: 'POST',
      connections: cfg.loginConnections,
      seconds: cfg.seconds,
      headers: { 'content-type': 'application/json' },
      bodies: users.map((email) => JSON.stringify({ email, password: PASSWORD })),
    };
    const meSpec: LoadSpec = { url: `${svc.base}/auth/me`, connections: cfg.validateConnections, seconds: cfg.seconds, cookies: [validator] };
    await runLoad({ ...loginSpec, seconds: cfg.warmupSeconds });
    await runLoad({ ...meSpec, seconds: cfg.warmupSeconds });

    const alone: LoadResult[] = [];
    const meAlone: LoadResult[] = [];
    const stormLogin: LoadResult[] = [];
    const stormMe: LoadResult[] = [];
    for (let r = 0; r < cfg.loginRounds; r++) {
      const a = await runLoad(loginSpec);
      alone.push(a);
      const m = await runLoad(meSpec);
      meAlone.push(m);
      const [sl, sm] = await Promise.all([runLoad(loginSpec), runLoad(meSpec)]);
      stormLogin.push(sl);
      stormMe.push(sm);
      log(`login round ${r + 1}: logins ${a.rps.toFixed(1)}/s p99 ${a.p99.toFixed(0)} ms; me alone p99 ${m.p99.toFixed(2)} ms; during storm: logins ${sl.rps.toFixed(1)}/s, me ${sm.rps.toFixed(0)}/s p99 ${sm.p99.toFixed(2)} ms`);
    }
    results.login = {
      connections: cfg.loginConnections,
      validateConnections: cfg.validateConnections,
      argon2: 'argon2id m=19456 KiB, t=2, p=1 (defaults)',
      maxConcurrency: 'ARGON2_MAX_CONCURRENCY default = max(1, cores - 1)',
      loginAlone: summarise(alone),
      meAlone: summarise(meAlone),
      loginDuringStorm: summarise(stormLogin),
      meDuringStorm: summarise(stormMe),
    };
  } finally {
    await svc.child.stop();
  }
}

async function store(results: Results): Promise<void> {
  log('store-cost section');
  // Two Redis servers: one holds the small population, the other the large one, so the
  // latency runs can alternate between them instead of comparing runs minutes apart.
  const small = await startStandalone({ name: 'redis-small' });
  onCleanup(() => small.stop());
  const large = await startStandalone({ name: 'redis-large' });
  onCleanup(() => large.stop());
  const seedSmall = new Seeder(small.url);
  const seedLarge = new Seeder(large.url);
  await Promise.all([seedSmall.conn.ready, seedLarge.conn.ready]);

  const base = await seedLarge.usedMemory();
  let t = Date.now();
  const largeSample = await seedLarge.seedTo(cfg.memorySessions, { sample: 500 });
  const memAt = await seedLarge.usedMemory();
  const memorySeconds = (Date.now() - t) / 1000;
  log(`seeded ${cfg.memorySessions} in ${memorySeconds.toFixed(1)} s; used_memory delta ${((memAt - base) / cfg.memorySessions).toFixed(1)} B/session`);
  t = Date.now();
  largeSample.push(...(await seedLarge.seedTo(cfg.largeSessions, { sample: 500 })));
  const largeSeconds = (Date.now() - t) / 1000 + memorySeconds;
  const memLarge = await seedLarge.usedMemory();
  log(`seeded ${cfg.largeSessions} in ${largeSeconds.toFixed(1)} s (${(cfg.largeSessions / largeSeconds).toFixed(0)}/s)`);
  const keyUsage = await seedLarge.keyUsage();
  const smallSample = await seedSmall.seedTo(cfg.smallSessions, { sample: 1000 });
  await Promise.all([seedSmall.close(), seedLarge.close()]);

  const cookieName = 'sid';
  const [svcSmall, svcLarge] = await Promise.all([
    startService('auth-10k', { SESSION_STORE: 'redis', REDIS_URL: small.url }),
    startService('auth-1m', { SESSION_STORE: 'redis', REDIS_URL: large.url }),
  ]);
  try {
    const smallCookies = smallSample.map((tk) => signedCookie(cookieName, tk, SESSION_KEY));
    const largeCookies = largeSample.map((tk) => signedCookie(cookieName, tk, SESSION_KEY));
    await expectOk(`${svcSmall.base}/auth/me`, smallCookies[0]);
    await expectOk(`${svcLarge.base}/auth/me`, largeCookies[largeCookies.length - 1]);
    const specSmall: LoadSpec = { url: `${svcSmall.base}/auth/me`, connections: cfg.storeConnections, seconds: cfg.seconds, cookies: smallCookies };
    const specLarge: LoadSpec = { url: `${svcLarge.base}/auth/me`, connections: cfg.storeConnections, seconds: cfg.seconds, cookies: largeCookies };
    await runLoad({ ...specSmall, seconds: cfg.warmupSeconds });
    await runLoad({ ...specLarge, seconds: cfg.warmupSeconds });
    const rs: LoadResult[] = [];
    const rl: LoadResult[] = [];
    for (let r = 0; r < cfg.rounds; r++) {
      const pair = r % 2 ? [specLarge, specSmall] : [specSmall, specLarge];
      for (const spec of pair) {
        const res = await runLoad(spec);
        (spec === specSmall ? rs : rl).push(res);
      }
      log(`store round ${r + 1}: ${cfg.smallSessions} p50 ${rs.at(-1)!.p50.toFixed(3)} p99 ${rs.at(-1)!.p99.toFixed(3)} | ${cfg.largeSessions} p50 ${rl.at(-1)!.p50.toFixed(3)} p99 ${rl.at(-1)!.p99.toFixed(3)}`);
    }
    results.store = {
      memorySessions: cfg.memorySessions,
      usedMemoryBaseline: base,
      usedMemoryAtMemorySessions: memAt,
      bytesPerSession: round((memAt - base) / cfg.memorySessions, 1),
      largeSessions: cfg.largeSessions,
      usedMemoryAtLarge: memLarge,
      bytesPerSessionAtLarge: round((memLarge - base) / cfg.largeSessions, 1),
      keyUsage,
      seedSeconds: round(largeSeconds, 1),
      seedRate: round(cfg.largeSessions / largeSeconds, 0),
      smallSessions: cfg.smallSessions,
      connections: cfg.storeConnections,
      distinctCookies: { small: smallCookies.length, large: largeCookies.length },
      atSmall: summarise(rs),
      atLarge: summarise(rl),
    };
  } finally {
    await Promise.all([svcSmall.child.stop(), svcLarge.child.stop()]);
    await Promise.all([small.stop(), large.stop()]);
  }
}

function targets(r: Results): Target[] {
  const out: Target[] = [];
  const by = (n: string) => r.contenders?.find((c) => c.name === n);
  const redis = by('auth /auth/me redis');
  const ceiling = by('ceiling');
  const plain = by('koa-session-plain');
  if (redis && ceiling) {
    const x = redis.rps / ceiling.rps;
    out.push({ target: '/auth/me on redis >= 0.60 x ceiling', measured: `${x.toFixed(2)} x`, pass: x >= 0.6 });
  }
  if (redis && plain) {
    const x = redis.rps / plain.rps;
    out.push({ target: '/auth/me on redis >= 1.5 x koa-session-plain', measured: `${x.toFixed(2)} x`, pass: x >= 1.5 });
  }
  for (const name of ['auth /auth/me memory', 'auth /auth/me redis', 'auth /auth/me sentinel']) {
    const c = by(name);
    if (c) out.push({ target: `${name}: p99 < 5 ms at ${cfg.connections} connections`, measured: `${c.p99.toFixed(2)} ms`, pass: c.p99 < 5 });
  }
  if (r.store) {
    out.push({ target: 'Redis memory < 300 B/session', measured: `${r.store.bytesPerSession} B at ${r.store.memorySessions} sessions`, pass: r.store.bytesPerSession < 300 });
    for (const k of ['p50', 'p99'] as const) {
      const a = r.store.atSmall[k];
      const b = r.store.atLarge[k];
      const d = (b - a) / a;
      out.push({
        target: `/auth/me ${k} at ${r.store.largeSessions} sessions within 10% of ${r.store.smallSessions}`,
        measured: `${a.toFixed(3)} -> ${b.toFixed(3)} ms (${d >= 0 ? '+' : ''}${(d * 100).toFixed(1)}%)`,
        pass: d <= 0.1,
      });
    }
  }
  if (r.login) {
    const p = r.login.meDuringStorm.p99;
    out.push({ target: 'login storm does not starve validation: /auth/me p99 < 5 ms during the storm', measured: `${p.toFixed(2)} ms (alone ${r.login.meAlone.p99.toFixed(2)} ms)`, pass: p < 5 });
  }
  return out;
}

async function main(): Promise<void> {
  installSignalHandlers();
  const results: Results = { machine: machine(), config: cfg, targets: [] };
  log(`config: ${JSON.stringify(cfg)}`);
  const shared = await startStandalone({ name: 'redis-bench' });
  onCleanup(() => shared.stop());
  if (cfg.sections.includes('contenders')) await contenders(shared.url, results);
  if (cfg.sections.includes('login')) await login(shared.url, results);
  if (cfg.sections.includes('store')) await store(results);
  results.targets = targets(results);
  // Other work on the machine during the run shows here (a 2-core box: anything above ~2 is contention).
  results.machine.loadAverageAtEnd = loadavg().map((x) => x.toFixed(2)).join(' ');
  writeFileSync(join(cfg.out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = renderMarkdown(results);
  writeFileSync(join(cfg.out, 'results.md'), md);
  console.log(md);
}

main()
  .then(() => cleanupAll())
  .then(() => process.exit(0))
  .catch(async (err: Error) => {
    console.error(`[bench] failed: ${err.stack ?? err.message}`);
    await cleanupAll();
    process.exit(1);
  });
