import { createHmac } from 'node:crypto';
import { expect } from 'vitest';
import { startApp, waitReady, type TestApp } from '../support/app.js';
import { Browser, PASSWORD, uniqueEmail, type Res } from '../support/client.js';

export const STORES = ['memory', 'redis'] as const;
export type StoreKind = (typeof STORES)[number];

/** The key startApp signs with unless a test overrides SESSION_KEYS. */
export const TEST_KEY = 'test-key-0123456789-0123456789-0123456789';

let prefixCounter = 0;

/**
 * Starts the real app on the given store. Each Redis-backed app gets its own key prefix, so apps
 * sharing one redis-server in a file never see each other's users, sessions or throttle counters
 * (the per-IP counter would otherwise be shared by every app on 127.0.0.1). Pass
 * REDIS_KEY_PREFIX explicitly to share data between two apps.
 */
export async function startOn(
  store: StoreKind,
  redisUrl: string | undefined,
  env: Record<string, string> = {},
): Promise<TestApp> {
  const storeEnv: Record<string, string> =
    store === 'redis'
      ? { SESSION_STORE: 'redis', REDIS_URL: requireUrl(redisUrl), REDIS_KEY_PREFIX: `t${process.pid}x${++prefixCounter}:` }
      : { SESSION_STORE: 'memory' };
  const app = await startApp({ ...storeEnv, ...env });
  await waitReady(app);
  return app;
}

function requireUrl(url: string | undefined): string {
  if (!url) throw new Error('redis url missing: was the redis-server started in beforeAll?');
  return url;
}

/** The cookie name the app uses over plain HTTP. */
export const SID = 'sid';

/** Registers a fresh user and logs the browser in; returns the email and the login response. */
export async function signedIn(app: TestApp, b = new Browser(app.url), email = uniqueEmail()) {
  const reg = await b.register(email, PASSWORD);
  expect(reg.status, JSON.stringify(reg.body)).toBe(201);
  const login = await b.login(email, PASSWORD);
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  return { b, email, login };
}

/** A second browser for the same user (a new login, a new session). */
export async function anotherLogin(app: TestApp, email: string, headers: Record<string, string> = {}) {
  const b = new Browser(app.url, headers);
  const r = await b.login(email, PASSWORD);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return b;
}

export function token(b: Browser, name = SID): string {
  const v = b.jar.get(name);
  if (!v) throw new Error(`no ${name} cookie in the jar: ${b.cookieHeader()}`);
  return v;
}

/** Exactly what cookies/keygrip put in `<name>.sig`: HMAC-SHA1 of "name=value", base64url without padding. */
export function sign(name: string, value: string, key: string): string {
  return createHmac('sha1', key).update(`${name}=${value}`).digest('base64url');
}

export async function meWith(appUrl: string, cookie: string): Promise<Res> {
  const b = new Browser(appUrl, { cookie });
  return b.get('/auth/me');
}

export function expectError(r: Res, status: number, code: string): void {
  expect({ status: r.status, code: (r.body as { error?: { code?: string } })?.error?.code }, JSON.stringify(r.body)).toEqual({
    status,
    code,
  });
  expect(typeof (r.body as { error: { message: unknown } }).error.message).toBe('string');
}

/** Sum of every sample of `name` whose labels include all of `labels`. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const p of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(p[1]!, p[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

export async function metricsText(app: TestApp): Promise<string> {
  const r = await fetch(`${app.url}/metrics`);
  expect(r.status).toBe(200);
  return r.text();
}

export async function readMetric(app: TestApp, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metric(await metricsText(app), name, labels);
}

/** Calls fn every `everyMs` until `done(result)`; returns the result and the time it took. */
export async function pollUntil<T>(
  fn: () => Promise<T>,
  done: (v: T) => boolean,
  { timeoutMs = 5000, everyMs = 50 } = {},
): Promise<{ value: T; elapsedMs: number; tries: T[] }> {
  const start = Date.now();
  const tries: T[] = [];
  for (;;) {
    const value = await fn();
    tries.push(value);
    if (done(value)) return { value, elapsedMs: Date.now() - start, tries };
    if (Date.now() - start > timeoutMs) {
      throw new Error(`condition not met within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Parses one Set-Cookie line into its name, value and lower-cased attributes. */
export function parseSetCookie(line: string) {
  const [pair, ...attrs] = line.split(';').map((s) => s.trim());
  const i = pair!.indexOf('=');
  const attributes = new Map<string, string>();
  for (const a of attrs) {
    const j = a.indexOf('=');
    attributes.set((j < 0 ? a : a.slice(0, j)).toLowerCase(), j < 0 ? '' : a.slice(j + 1));
  }
  return { name: pair!.slice(0, i), value: pair!.slice(i + 1), attributes };
}

export { Browser, PASSWORD, uniqueEmail };
