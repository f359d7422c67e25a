import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Standalone } from '@session-auth/topology';
import { withRedis } from '../support/redis.js';
import { startApp, waitReady, type TestApp } from '../support/app.js';

/** Installed by `node scripts/bootstrap.mjs --schemathesis` (the first step of `npm test`). */
const ST = fileURLToPath(new URL('../../../../node_modules/.cache/schemathesis-venv/bin/st', import.meta.url));
/** Per operation and phase; two runs of 13 and 9 operations take about a minute on 2 cores. */
const MAX_EXAMPLES = 20;
/**
 * A hang guard, not a speed target: a run is killed (and the test fails) past this. Quiet, a run
 * takes 30-40 s; on a machine at load average 20 it took 120 s, and an 80 s bound failed it with
 * nothing wrong.
 */
const RUN_BOUND_MS = 300_000;
const SEED = process.env.SCHEMATHESIS_SEED ?? '20261202';
/** The app sees HTTPS (as behind a TLS proxy), so it names its cookie `__Host-sid` as the document does. */
const HTTPS = 'X-Forwarded-Proto: https';
const PASSWORD = 'schemathesis password 1';

interface StRun {
  code: number | null;
  output: string;
  generated: number;
  passed: number;
  ms: number;
}

function schemathesis(args: string[], cwd: string): Promise<StRun> {
  const start = Date.now();
  return new Promise((resolve) => {
    // Async, never spawnSync: the app under test answers from this very process.
    const child = spawn(ST, args, { cwd, env: { ...process.env, NO_COLOR: '1', PYTHONUNBUFFERED: '1' } });
    let output = '';
    child.stdout.on('data', (d) => (output += d.toString()));
    child.stderr.on('data', (d) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_BOUND_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const m = /(\d+) generated, (?:(\d+) passed)?/.exec(output);
      resolve({ code, output, generated: Number(m?.[1] ?? 0), passed: Number(m?.[2] ?? 0), ms: Date.now() - start });
    });
  });
}

const common = (url: string) => [
  'run',
  `${url}/openapi.json`,
  '--checks',
  'all',
  '--max-examples',
  String(MAX_EXAMPLES),
  '--seed',
  SEED,
  // JSON Schema lengths count characters and the server bounds passwords in UTF-8 bytes; ASCII
  // makes the two the same, so a valid case is never one the server rightly refuses.
  '--generation-codec',
  'ascii',
  '--generation-database',
  'none',
  '--workers',
  '2',
  '--request-timeout',
  '5',
  '--no-color',
  '-H',
  HTTPS,
];

describe('Schemathesis over the OpenAPI document, against the real service on Redis', () => {
  let redis: Standalone;
  let app: TestApp;
  let dir: string;
  beforeAll(async () => {
    if (!existsSync(ST)) throw new Error(`${ST} is missing: run  node scripts/bootstrap.mjs --schemathesis`);
    dir = mkdtempSync(join(tmpdir(), 'schemathesis-'));
    redis = await withRedis();
    app = await startApp({
      SESSION_STORE: 'redis',
      REDIS_URL: redis.url,
      COOKIE_SECURE: 'true',
      TRUST_PROXY: 'true',
      // Thousands of requests from 127.0.0.1: the per-IP limit would turn most into 429s.
      LOGIN_MAX_ATTEMPTS_PER_IP: '1000000',
      LOG_LEVEL: 'info',
    });
    await waitReady(app);
  });
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds no failing check without a session, on every operation', async () => {
    const r = await schemathesis(common(app.url), dir);
    console.log(`[schemathesis] unauthenticated: ${r.generated} cases generated, ${r.passed} passed, ${r.ms} ms`);
    expect(r.code, r.output.slice(-6000)).toBe(0);
    expect(r.generated).toBeGreaterThan(300);
    expect(r.passed).toBe(r.generated);
  }, RUN_BOUND_MS + 5000);

  it('finds no failing check with a live session (its own login, logout and revocation left out, they end it)', async () => {
    const h = { 'content-type': 'application/json', 'x-forwarded-proto': 'https' };
    const email = `fuzz-${process.pid}@example.com`;
    expect((await fetch(`${app.url}/auth/register`, { method: 'POST', headers: h, body: JSON.stringify({ email, password: PASSWORD }) })).status).toBe(201);
    const login = await fetch(`${app.url}/auth/login`, { method: 'POST', headers: h, body: JSON.stringify({ email, password: PASSWORD }) });
    expect(login.status).toBe(200);
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const cookies = new Map(login.headers.getSetCookie().map((c) => c.split(';')[0]!.split('=') as [string, string]));
    // OpenAPI-aware auth: Schemathesis knows which cookie is which, and its negative cases
    // (one of them missing, a wrong value) are real requests without them.
    const config = join(dir, 'schemathesis.toml');
    writeFileSync(
      config,
      `[auth.openapi.sessionCookie]\napi_key = "${cookies.get('__Host-sid')}"\n` +
        `[auth.openapi.sessionCookieSignature]\napi_key = "${cookies.get('__Host-sid.sig')}"\n`,
    );
    const r = await schemathesis(
      ['--config-file', config, ...common(app.url), '-H', `x-csrf-token: ${csrfToken}`, '--exclude-path-regex', '^/auth/(login|logout|sessions/)'],
      dir,
    );
    console.log(`[schemathesis] with a session: ${r.generated} cases generated, ${r.passed} passed, ${r.ms} ms`);
    expect(r.code, r.output.slice(-6000)).toBe(0);
    expect(r.generated).toBeGreaterThan(200);
    expect(r.passed).toBe(r.generated);
    // The session survived the run, so the authenticated cases ran authenticated throughout.
    const me = await fetch(`${app.url}/auth/me`, {
      headers: { 'x-forwarded-proto': 'https', cookie: `__Host-sid=${cookies.get('__Host-sid')}; __Host-sid.sig=${cookies.get('__Host-sid.sig')}` },
    });
    expect(me.status).toBe(200);
    // Thousands of generated requests later, no password or token in the log.
    expect(app.logs()).not.toContain(PASSWORD);
    expect(app.logs()).not.toContain(cookies.get('__Host-sid')!);
  }, RUN_BOUND_MS + 5000);
});
