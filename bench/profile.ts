// `tsx bench/profile.ts`: CPU profile of the real service under the bench's /auth/me load.
// Starts redis-server (or uses SESSION_STORE=memory), runs services/auth/dist/main.js with
// --cpu-prof, drives PROFILE_SECONDS (10) of GET /auth/me at 50 connections from a separate
// autocannon process, stops the service (the profile is written on exit) and prints the hottest
// functions (self and inclusive) and where the time goes by package/file.
// Env: PROFILE_SECONDS, PROFILE_STORE (redis|memory), PROFILE_TOP (25).
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { freePort, startStandalone } from '@session-auth/topology';
import { runLoad } from './lib/load.js';
import { cleanupAll, installSignalHandlers, onCleanup, ROOT, spawnNode, waitHttp } from './lib/procs.js';

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
}

const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const mode = process.env.PROFILE_STORE ?? 'redis';
const top = Number(process.env.PROFILE_TOP ?? 25);
const dir = join(ROOT, 'bench/out/profile');

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

export function analyse(file: string): string {
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
  let busy = 0;
  for (const id of p.samples) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') continue;
    busy++;
    const k = key(n);
    self.set(k, (self.get(k) ?? 0) + 1);
    const a = n.callFrame.url ? area(n.callFrame.url) : n.callFrame.functionName;
    areas.set(a, (areas.get(a) ?? 0) + 1);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const kk = key(byId.get(cur)!);
      if (seen.has(kk)) continue;
      seen.add(kk);
      incl.set(kk, (incl.get(kk) ?? 0) + 1);
    }
  }
  const pct = (x: number) => `${((100 * x) / busy).toFixed(1)}%`.padStart(6);
  const list = (m: Map<string, number>, filter: (k: string) => boolean = () => true) =>
    [...m.entries()]
      .filter(([k]) => filter(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `${pct(v)}  ${k}`)
      .join('\n');
  return [
    `${busy} non-idle samples (${p.samples.length} total) in ${relative(ROOT, file)}`,
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

async function main(): Promise<void> {
  installSignalHandlers();
  mkdirSync(dir, { recursive: true });
  const env: Record<string, string> = { SESSION_STORE: mode };
  if (mode !== 'memory') {
    const redis = await startStandalone({ name: 'redis-profile' });
    onCleanup(() => redis.stop());
    env.REDIS_URL = redis.url;
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const svc = spawnNode('auth-profiled', ['--cpu-prof', '--cpu-prof-dir', dir, 'services/auth/dist/main.js'], {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    SESSION_KEYS: 'bench-session-key-0123456789-0123456789-abcdef',
    COOKIE_SECURE: 'false',
    HOST: '127.0.0.1',
    PORT: String(port),
    ...env,
  });
  await waitHttp(`${base}/readyz`, svc, 30_000);
  const body = JSON.stringify({ email: 'profile@example.com', password: 'correct horse battery staple' });
  const headers = { 'content-type': 'application/json' };
  await fetch(`${base}/auth/register`, { method: 'POST', headers, body }).then((r) => r.arrayBuffer());
  const login = await fetch(`${base}/auth/login`, { method: 'POST', headers, body });
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  if (login.status !== 200) throw new Error(`login failed: ${login.status}`);
  const started = Date.now();
  const res = await runLoad({ url: `${base}/auth/me`, connections: 50, seconds, cookies: [cookie] });
  console.log(`load: ${res.rps.toFixed(0)} req/s p50 ${res.p50.toFixed(2)} ms p99 ${res.p99.toFixed(2)} ms non2xx ${res.non2xx}`);
  await svc.stop();
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= started);
  if (!files.length) throw new Error('no .cpuprofile written');
  console.log(analyse(files.sort().at(-1)!));
}

main()
  .then(() => cleanupAll())
  .then(() => process.exit(0))
  .catch(async (err: Error) => {
    console.error(err.stack ?? err.message);
    await cleanupAll();
    process.exit(1);
  });
