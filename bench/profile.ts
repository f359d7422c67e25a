// `tsx bench/profile.ts`: CPU profile of the real service under the bench's /auth/me load.
// Starts redis-server (or uses SESSION_STORE=memory), runs services/auth/dist/main.js with
// --cpu-prof, drives PROFILE_SECONDS (10) of GET /auth/me at 50 connections from a separate
// autocannon process, stops the service (the profile is written on exit) and prints the hottest
// functions (self and inclusive) and where the time goes by package/file.
// Env: PROFILE_SECONDS, PROFILE_STORE (redis|memory), PROFILE_TOP (25), PROFILE_NEAR_CACHE (true|false),
// PROFILE_DIST (main.js to run; default this tree's build), PROFILE_PEER (a bench/peers/<name>.ts
// instead of the service, e.g. koa-session-plain), BENCH_PIN (as in the bench).
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { freePort, startStandalone } from '@session-auth/topology';
import { placementFromEnv, pinPid } from './lib/cpus.js';
import { runLoad } from './lib/load.js';
import { cleanupAll, installSignalHandlers, onCleanup, ROOT, spawnNode, spawnTs, waitHttp, type Child } from './lib/procs.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds between samples. */
  timeDeltas: number[];
}

const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const mode = process.env.PROFILE_STORE ?? 'redis';
const top = Number(process.env.PROFILE_TOP ?? 25);
const dir = join(ROOT, 'bench/out/profile');
// The bench's placement (BENCH_PIN): the profile shows the server as the bench measures it.
const pin = placementFromEnv();

function area(url: string): string {
  if (!url) return '(native/vm)';
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  return relative(ROOT, path);
}

/** `requests`: how many the load answered, to show time per request next to the shares. */
export function analyse(file: string, requests?: number): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => {
    const f = n.callFrame;
    const where = f.url ? `${area(f.url)}:${f.lineNumber + 1}` : '';
    return `${f.functionName || '(anonymous)'} ${where}`.trim();
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const areas = new Map<string, number>();
  // Weighted by the time each sample stands for (the sampler's interval drifts under load).
  let busy = 0;
  for (const [i, id] of p.samples.entries()) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') continue;
    const w = p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0;
    busy += w;
    const k = key(n);
    self.set(k, (self.get(k) ?? 0) + w);
    const a = n.callFrame.url ? area(n.callFrame.url) : n.callFrame.functionName;
    areas.set(a, (areas.get(a) ?? 0) + w);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const kk = key(byId.get(cur)!);
      if (seen.has(kk)) continue;
      seen.add(kk);
      incl.set(kk, (incl.get(kk) ?? 0) + w);
    }
  }
  // Start-up and the login are in the profile too (their own rows: module loading, argon2).
  const perReq = (x: number) => (requests ? `${(x / requests).toFixed(2).padStart(7)} us` : '');
  const pct = (x: number) => `${((100 * x) / busy).toFixed(1)}%`.padStart(6) + perReq(x);
  const list = (m: Map<string, number>, filter: (k: string) => boolean = () => true) =>
    [...m.entries()]
      .filter(([k]) => filter(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `${pct(v)}  ${k}`)
      .join('\n');
  return [
    `${(busy / 1e6).toFixed(2)} s non-idle in ${p.samples.length} samples in ${relative(ROOT, file)}${requests ? `; ${requests} requests, ${(busy / requests).toFixed(1)} us non-idle per request` : ''}`,
    'columns: share of non-idle time, then microseconds per request of the load',
    '',
    '## self time by package / file',
    list(areas),
    '',
    '## self time by function',
    list(self),
    '',
    '## inclusive time, functions of services/auth',
    list(incl, (k) => k.includes('services/auth/')),
  ].join('\n');
}

const KEY = 'bench-session-key-0123456789-0123456789-abcdef';

/** The service (PROFILE_STORE, PROFILE_NEAR_CACHE): registered and logged in, its /auth/me URL and cookie. */
async function startServiceProfiled(env: Record<string, string>): Promise<{ child: Child; url: string; cookie: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawnNode('auth-profiled', ['--cpu-prof', '--cpu-prof-dir', dir, process.env.PROFILE_DIST ?? 'services/auth/dist/main.js'], {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    SESSION_KEYS: KEY,
    COOKIE_SECURE: 'false',
    HOST: '127.0.0.1',
    PORT: String(port),
    ...env,
  }, { cpus: pin?.server });
  await waitHttp(`${base}/readyz`, child, 30_000);
  const body = JSON.stringify({ email: 'profile@example.com', password: 'correct horse battery staple' });
  const headers = { 'content-type': 'application/json' };
  await fetch(`${base}/auth/register`, { method: 'POST', headers, body }).then((r) => r.arrayBuffer());
  const login = await fetch(`${base}/auth/login`, { method: 'POST', headers, body });
  if (login.status !== 200) throw new Error(`login failed: ${login.status}`);
  await login.arrayBuffer();
  return { child, url: `${base}/auth/me`, cookie: login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
}

/** A bench peer (PROFILE_PEER=koa-session-plain, diy, floor-koa...): POST /login, GET /me. */
async function startPeerProfiled(peer: string, env: Record<string, string>): Promise<{ child: Child; url: string; cookie: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawnTs('peer-profiled', join(ROOT, 'bench/peers', `${peer}.ts`), { NODE_ENV: 'production', PORT: String(port), SESSION_KEY: KEY, ...env }, [
    '--cpu-prof',
    '--cpu-prof-dir',
    dir,
    // The peers have no SIGTERM handler, and a profile is only written on a normal exit.
    '--import',
    "data:text/javascript,process.on('SIGTERM',()=>process.exit(0))",
  ], pin?.server);
  await waitHttp(`${base}/healthz`, child, 60_000);
  const login = await fetch(`${base}/login`, { method: 'POST' });
  if (login.status !== 200) throw new Error(`peer login failed: ${login.status}`);
  await login.arrayBuffer();
  return { child, url: `${base}/me`, cookie: login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
}

async function main(): Promise<void> {
  installSignalHandlers();
  mkdirSync(dir, { recursive: true });
  const peer = process.env.PROFILE_PEER;
  const env: Record<string, string> = { SESSION_STORE: mode };
  if (mode !== 'memory' || peer) {
    const redis = await startStandalone({ name: 'redis-profile' });
    onCleanup(() => redis.stop());
    if (pin) pinPid(redis.redis.pid(), pin.aux);
    env.REDIS_URL = redis.url;
    if (process.env.PROFILE_NEAR_CACHE === 'true') env.SESSION_NEAR_CACHE = 'true';
  }
  const svc = peer ? await startPeerProfiled(peer, { REDIS_URL: env.REDIS_URL! }) : await startServiceProfiled(env);
  const started = Date.now();
  const res = await runLoad({ url: svc.url, connections: 50, seconds, cookies: [svc.cookie], cpus: pin?.aux });
  console.log(`load: ${res.rps.toFixed(0)} req/s p50 ${res.p50.toFixed(2)} ms p99 ${res.p99.toFixed(2)} ms non2xx ${res.non2xx}${pin ? ` (server on CPU ${pin.server}, load and Redis on ${pin.aux})` : ''}`);
  await svc.child.stop();
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= started);
  if (!files.length) throw new Error('no .cpuprofile written');
  // The largest: a peer run through tsx writes one more, small profile for its loader's thread.
  console.log(analyse(files.sort((a, b) => statSync(a).size - statSync(b).size).at(-1)!, res.requests));
}

main()
  .then(() => cleanupAll())
  .then(() => process.exit(0))
  .catch(async (err: Error) => {
    console.error(err.stack ?? err.message);
    await cleanupAll();
    process.exit(1);
  });
