import argon2 from 'argon2';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { ProcessRunner, inlineRunner, type Argon2Params } from '../../src/users/argon2-runner.js';
import type { TestApp } from '../support/app.js';
import { Browser, PASSWORD, expectError, readMetric, signedIn, startOn } from './_helpers.js';

const OWASP: Argon2Params = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** Nice value (field 19) and policy (field 41; 5 = SCHED_IDLE, 0 = SCHED_OTHER) of every thread of `pid`. */
function threads(pid: number): { nice: number; policy: 'idle' | 'other' | string }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { nice: Number(f[16]), policy: f[38] === '5' ? 'idle' : f[38] === '0' ? 'other' : f[38]! };
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ProcessRunner: argon2 in a child process at a lower CPU priority', () => {
  const exits: { code: number | null; signal: NodeJS.Signals | null; failed: number }[] = [];
  let ready: { pid: number; nice: number; policy: string } | undefined;
  const runner = new ProcessRunner({ idle: true, nice: 19, threads: 1, onExit: (e) => exits.push(e), onReady: (r) => (ready = r) });
  afterAll(() => runner.close());

  it('hashes and verifies like argon2 in this process, every child thread under SCHED_IDLE', async () => {
    const hash = await runner.hash('correct horse battery staple', OWASP);
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    // Same format both ways: a hash from the child verifies here and one from here in the child.
    expect(await argon2.verify(hash, 'correct horse battery staple')).toBe(true);
    const local = await inlineRunner().hash('other password', OWASP);
    expect(await runner.verify(local, 'other password')).toBe(true);
    expect(await runner.verify(hash, 'correct horse battery stapler')).toBe(false);
    // A stored hash argon2 cannot parse is a failed check, not a runner failure.
    expect(await runner.verify('$argon2id$garbage', 'x')).toBe(false);

    const pid = runner.pid!;
    expect(pid).not.toBe(process.pid);
    expect(ready).toEqual({ pid, nice: 19, policy: 'idle' });
    const ts = threads(pid);
    // main, V8 platform workers, the libuv pool thread that ran argon2: all of them.
    expect(ts.length).toBeGreaterThanOrEqual(3);
    expect(ts.every((t) => t.policy === 'idle' && t.nice === 19), JSON.stringify(ts)).toBe(true);
    // This process is untouched.
    expect(threads(process.pid).every((t) => t.policy === 'other')).toBe(true);
  });

  it('with SCHED_IDLE off, or where chrt is missing, the child runs at the nice value', async () => {
    const off = new ProcessRunner({ idle: false, nice: 12, threads: 1 });
    // PATH is only how the child finds chrt (fork starts node by its path).
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    let refused: ProcessRunner;
    let ready: { policy: string; nice: number } | undefined;
    try {
      refused = new ProcessRunner({ idle: true, nice: 12, threads: 1, onReady: (r) => (ready = r) });
      await refused.hash('x', OWASP);
    } finally {
      process.env.PATH = path;
    }
    try {
      await off.hash('x', OWASP);
      for (const r of [off, refused]) {
        const ts = threads(r.pid!);
        expect(ts.every((t) => t.policy === 'other' && t.nice === 12), JSON.stringify(ts)).toBe(true);
      }
      expect(ready).toMatchObject({ policy: 'other', nice: 12 });
    } finally {
      await Promise.all([off.close(), refused.close()]);
    }
  });

  it('a hasher killed mid-hash fails the call at once with BUSY, and the next call starts a new one', async () => {
    const first = runner.pid ?? (await runner.hash('warm', OWASP), runner.pid!);
    const inFlight = runner.verify(await runner.hash('pw', OWASP), 'pw');
    const started = Date.now();
    process.kill(first, 'SIGKILL');
    const err = await inFlight.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('BUSY');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(exits).toEqual([{ code: null, signal: 'SIGKILL', failed: 1 }]);

    expect(await runner.verify(await runner.hash('again', OWASP), 'again')).toBe(true);
    expect(runner.pid).not.toBe(first);
    expect(alive(first)).toBe(false);
  });

  it('close() stops the child; calls after it fail with BUSY and start nothing', async () => {
    const r = new ProcessRunner({ idle: true, nice: 19, threads: 1 });
    await r.hash('x', OWASP);
    const pid = r.pid!;
    await r.close();
    expect(alive(pid)).toBe(false);
    await expect(r.hash('y', OWASP)).rejects.toMatchObject({ code: 'BUSY' });
    expect(r.pid).toBeUndefined();
  });

  it('a pending hash keeps its process alive; an idle hasher does not (a script that never closes it still exits)', () => {
    const runnerTs = fileURLToPath(new URL('../../src/users/argon2-runner.ts', import.meta.url));
    const script = [
      `import { ProcessRunner } from ${JSON.stringify(runnerTs)};`,
      'const r = new ProcessRunner({ idle: true, nice: 19, threads: 1 });',
      "const h = await r.hash('pw', { memoryCost: 1024, timeCost: 1, parallelism: 1 });",
      "console.log(h.startsWith('$argon2id$') ? 'hashed' : h);",
    ].join('\n');
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    // Exit 13 would be Node giving up on an await nothing keeps alive; a timeout, a hasher keeping it alive.
    expect({ status: res.status, out: res.stdout.trim() }, res.stderr).toEqual({ status: 0, out: 'hashed' });
  });

  it('a child whose parent disappears exits by itself (no orphan hashers)', async () => {
    // The parent's side of the IPC pipe closes: exactly what a crashed parent leaves behind.
    const r = new ProcessRunner({ idle: true, nice: 19, threads: 1 });
    await r.hash('x', OWASP);
    const pid = r.pid!;
    (r as unknown as { child: { disconnect(): void } }).child.disconnect();
    await until(() => !alive(pid));
  });
});

describe('the service with its default hasher (ARGON2_RUNNER=process) at OWASP cost', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn('memory', undefined, {
      ARGON2_MEMORY_KIB: '19456',
      ARGON2_TIME_COST: '2',
      ARGON2_RUNNER: 'process',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a login whose hasher dies gets a fast 503 BUSY with no session; the logins after it work', async () => {
    const { email } = await signedIn(app);
    const runner = app.deps.hasher.runner as ProcessRunner;
    const pid = runner.pid!;
    // The defaults: SCHED_IDLE, nice 19.
    expect(threads(pid).every((t) => t.policy === 'idle' && t.nice === 19)).toBe(true);
    expect(await readMetric(app, 'auth_password_hasher_exits_total')).toBe(0);
    expect(await readMetric(app, 'auth_password_hasher_sched_idle')).toBe(1);

    // Kill the hasher while a login is in it (argon2 at this cost takes tens of ms).
    const login = new Browser(app.url).login(email, PASSWORD);
    await until(() => runner.inFlight > 0);
    const killed = Date.now();
    process.kill(pid, 'SIGKILL');
    const r = await login;
    expect(Date.now() - killed).toBeLessThan(2000);
    expectError(r, 503, 'BUSY');
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.setCookies.filter((c) => /^sid=[^;]/.test(c))).toEqual([]);
    expect(app.logs()).toContain('password hasher exited');
    expect(await readMetric(app, 'auth_password_hasher_exits_total')).toBe(1);
    expect(await readMetric(app, 'auth_password_hasher_sched_idle')).toBe(0);
    expect(await readMetric(app, 'auth_logins_total', { outcome: 'busy' })).toBe(1);

    expect((await new Browser(app.url).login(email, PASSWORD)).status).toBe(200);
    expectError(await new Browser(app.url).login(email, 'wrong password'), 401, 'INVALID_CREDENTIALS');
    expect(runner.pid).not.toBe(pid);
    expect(app.logs()).not.toContain(PASSWORD);
  });

  it('app close stops the hasher process', async () => {
    const other = await startOn('memory', undefined, { ARGON2_RUNNER: 'process' });
    await signedIn(other);
    const pid = (other.deps.hasher.runner as ProcessRunner).pid!;
    expect(alive(pid)).toBe(true);
    await other.close();
    expect(alive(pid)).toBe(false);
  });
});
