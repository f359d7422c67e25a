import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@session-auth/topology';
import { pollUntil } from './_helpers.js';

// The real entry point in a real process: config errors, readiness during shutdown, exit codes.

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function run(env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    // Only what the service needs: no inherited SESSION_* or REDIS_* from the developer's shell.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function get(url: string): Promise<number | 'refused'> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 'refused';
  }
}

describe('the service process', () => {
  it('on SIGTERM reports not-ready for SHUTDOWN_DELAY_MS, then exits 0', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const p = run({
      PORT: String(port),
      HOST: '127.0.0.1',
      SESSION_STORE: 'memory',
      SHUTDOWN_DELAY_MS: '500',
      LOG_LEVEL: 'info',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
    });
    await pollUntil(() => get(`${base}/healthz`), (s) => s === 200, { timeoutMs: 15_000, everyMs: 100 }).catch((e: Error) => {
      throw new Error(`${e.message}\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`);
    });
    expect(await get(`${base}/readyz`)).toBe(200);
    expect(p.stdout()).toContain('"msg":"listening"');

    const termAt = Date.now();
    p.child.kill('SIGTERM');
    // During the delay the listener is still open and says "not ready", so a load balancer drains it.
    const notReady = await pollUntil(() => get(`${base}/readyz`), (s) => s === 503, { timeoutMs: 2000, everyMs: 20 });
    expect(notReady.value).toBe(503);
    expect(p.child.exitCode).toBeNull();
    expect(await get(`${base}/healthz`)).toBe(200);

    const { code, signal, at } = await p.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(at - termAt).toBeGreaterThanOrEqual(500);
    expect(at - termAt).toBeLessThan(5000);
    expect(await get(`${base}/healthz`)).toBe('refused');
    expect(p.stdout()).toContain('shutdown complete');
  });

  it.each(['koa-session:context', 'koa-session*', 'http,koa-*'])('refuses to start (exit 78) with NODE_DEBUG=%s: koa-session would print tokens', async (nodeDebug) => {
    const p = run({ NODE_DEBUG: nodeDebug, SESSION_STORE: 'memory', PORT: '0' });
    const { code } = await p.exited;
    expect(code).toBe(78);
    expect(p.stderr()).toContain('NODE_DEBUG enables koa-session debug output');
    expect(p.stdout()).not.toContain('listening');
  });

  it('exits 78 (EX_CONFIG) naming the variable when the configuration is invalid', async () => {
    const p = run({ SESSION_STORE: 'nope', PORT: String(await freePort()) });
    const { code } = await p.exited;
    expect(code).toBe(78);
    expect(p.stderr()).toContain('SESSION_STORE');
    expect(p.stderr()).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
  });

  it('in production without PUBLIC_ORIGIN starts (README: why) and says once that the CSRF check compares Origin with Host', async () => {
    const port = await freePort();
    const p = run({ NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', SESSION_KEYS: 'k'.repeat(32), ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' });
    await pollUntil(() => get(`http://127.0.0.1:${port}/healthz`), (s) => s === 200, { timeoutMs: 15_000, everyMs: 100 });
    expect(p.stdout().match(/PUBLIC_ORIGIN not set/g)).toHaveLength(1);
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    const q = run({ NODE_ENV: 'production', PORT: String(await freePort()), HOST: '127.0.0.1', SESSION_KEYS: 'k'.repeat(32), PUBLIC_ORIGIN: 'https://auth.example.com' });
    await pollUntil(() => Promise.resolve(q.stdout()), (o) => o.includes('listening'), { timeoutMs: 15_000, everyMs: 100 });
    expect(q.stdout()).not.toContain('PUBLIC_ORIGIN not set');
    q.child.kill('SIGTERM');
    await q.exited;
  });
});
