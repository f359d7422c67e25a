import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSentinelTopology, startStandalone, type SentinelTopology, type Standalone } from '@session-auth/topology';
import { startApp, waitReady, type TestApp } from '../support/app.js';
import { redisCommand } from '../support/redis.js';
import { Browser, PASSWORD, expectError, readMetric, signedIn } from './_helpers.js';

/** Short enough to wait out in a test, long enough for a login and the action after it. */
const REAUTH_WINDOW_SECONDS = 3;
const NEW_PASSWORD = 'a brand new passphrase';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Mode = 'memory' | 'redis' | 'sentinel' | 'replicated';

interface Env {
  app: TestApp;
  /** A URL of the server holding users (the primary, for sentinel); undefined in memory mode. */
  dataUrl(): Promise<string | undefined>;
  prefix: string;
  close(): Promise<void>;
}

/** The real app on each store mode, with real redis-server / sentinel processes. */
async function start(mode: Mode): Promise<Env> {
  const prefix = `life${process.pid}:`;
  const common = { REAUTH_WINDOW_SECONDS: String(REAUTH_WINDOW_SECONDS), REDIS_KEY_PREFIX: prefix, LOGIN_MAX_ATTEMPTS_PER_IP: '10000' };
  if (mode === 'memory') {
    const app = await startApp({ ...common, SESSION_STORE: 'memory' });
    await waitReady(app);
    return { app, prefix, dataUrl: async () => undefined, close: () => app.close() };
  }
  if (mode === 'sentinel') {
    const topo: SentinelTopology = await startSentinelTopology();
    const app = await startApp({
      ...common,
      SESSION_STORE: 'sentinel',
      REDIS_SENTINELS: topo.sentinelAddresses.map((a) => `${a.host}:${a.port}`).join(','),
      REDIS_MASTER_NAME: topo.masterName,
    });
    await waitReady(app, 15_000);
    return {
      app,
      prefix,
      dataUrl: async () => {
        const { host, port } = await topo.currentPrimary();
        return `redis://${host}:${port}`;
      },
      async close() {
        await app.close();
        await topo.stop();
      },
    };
  }
  const redis: Standalone = await startStandalone({ name: `life-${mode}` });
  const app = await startApp({ ...common, SESSION_STORE: mode, REDIS_URL: redis.url });
  await waitReady(app, 10_000);
  return {
    app,
    prefix,
    dataUrl: async () => redis.url,
    async close() {
      await app.close();
      await redis.stop();
    },
  };
}

describe.each(['memory', 'redis', 'sentinel', 'replicated'] as const)('account lifecycle (%s store)', (mode) => {
  let env: Env;
  let app: TestApp;
  beforeAll(async () => {
    env = await start(mode);
    app = env.app;
  }, 60_000);
  afterAll(async () => {
    await env?.close();
  });

  const second = async (email: string, password = PASSWORD) => {
    const b = new Browser(app.url);
    const r = await b.login(email, password);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return b;
  };

  it('change password: needs the current one; revokes every other session; rotates this one', async () => {
    const { b, email } = await signedIn(app);
    const others = [await second(email), await second(email)];
    const oldJar = new Map(b.jar);

    expectError(await b.post('/auth/password', { currentPassword: 'not the password', newPassword: NEW_PASSWORD }), 403, 'INVALID_PASSWORD');
    expectError(await b.post('/auth/password', { currentPassword: PASSWORD, newPassword: 'short' }), 400, 'VALIDATION_FAILED');
    expectError(await b.request('POST', '/auth/password', { json: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, csrf: false }), 403, 'CSRF_TOKEN_INVALID');
    for (const o of others) expect((await o.get('/auth/me')).status).toBe(200);

    const revokedBefore = await readMetric(app, 'sessions_revoked_total', { reason: 'password_change' });
    const r = await b.post('/auth/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.revoked).toBe(2);
    expect(typeof r.body.csrfToken).toBe('string');
    // Rotated: a new token in the jar, the old one refused.
    expect(b.jar.get('sid')).not.toBe(oldJar.get('sid'));
    expect((await b.get('/auth/me')).status).toBe(200);
    expect((await new Browser(app.url, { cookie: [...oldJar].map(([k, v]) => `${k}=${v}`).join('; ') }).get('/auth/me')).status).toBe(401);
    for (const o of others) expectError(await o.get('/auth/me'), 401, 'UNAUTHENTICATED');
    expect(await readMetric(app, 'sessions_revoked_total', { reason: 'password_change' })).toBe(revokedBefore + 3);
    expect(await readMetric(app, 'auth_account_actions_total', { action: 'password_change', outcome: 'success' })).toBeGreaterThanOrEqual(1);

    expectError(await new Browser(app.url).login(email, PASSWORD), 401, 'INVALID_CREDENTIALS');
    await second(email, NEW_PASSWORD);
    // The rotated session is freshly authenticated: a sensitive action goes through at once.
    expect((await b.post('/auth/logout-all', { keepCurrent: true })).body).toEqual({ revoked: 1 });
    // Neither the password nor a token reaches the log.
    expect(app.logs()).not.toContain(NEW_PASSWORD);
    expect(app.logs()).not.toContain(b.jar.get('sid')!);
  });

  it('sudo mode: sensitive actions need a password check within the window; POST /auth/reauth opens it', async () => {
    const { b, email } = await signedIn(app);
    const other = await second(email);
    const otherHandle = (await other.get('/auth/me')).body.session.handle as string;
    await sleep(REAUTH_WINDOW_SECONDS * 1000 + 200);

    const required = await readMetric(app, 'auth_account_actions_total', { outcome: 'reauth_required' });
    expectError(await b.post('/auth/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }), 403, 'REAUTH_REQUIRED');
    expectError(await b.post('/auth/logout-all', {}), 403, 'REAUTH_REQUIRED');
    expectError(await b.delete(`/auth/sessions/${otherHandle}`), 403, 'REAUTH_REQUIRED');
    expectError(await b.request('DELETE', '/auth/account', { json: { password: PASSWORD } }), 403, 'REAUTH_REQUIRED');
    expect(await readMetric(app, 'auth_account_actions_total', { outcome: 'reauth_required' })).toBe(required + 4);
    // Nothing happened, and everyday routes are not affected.
    expect((await other.get('/auth/me')).status).toBe(200);
    expect((await b.get('/auth/sessions')).body.sessions).toHaveLength(2);

    expectError(await b.post('/auth/reauth', { password: 'wrong password' }), 403, 'INVALID_PASSWORD');
    expectError(await b.request('POST', '/auth/reauth', { json: { password: PASSWORD }, csrf: false }), 403, 'CSRF_TOKEN_INVALID');
    expectError(await new Browser(app.url).post('/auth/reauth', { password: PASSWORD }), 401, 'UNAUTHENTICATED');
    const re = await b.post('/auth/reauth', { password: PASSWORD });
    expect(re.status, JSON.stringify(re.body)).toBe(200);
    expect(Date.parse(re.body.reauthExpiresAt) - Date.parse(re.body.reauthenticatedAt)).toBe(REAUTH_WINDOW_SECONDS * 1000);
    // The proof is on the stored session (the next request reads it back), not in this process.
    expect((await b.delete(`/auth/sessions/${otherHandle}`)).status).toBe(204);
    expectError(await other.get('/auth/me'), 401, 'UNAUTHENTICATED');
    // Ending this very session is a logout, never refused for want of a password.
    await sleep(REAUTH_WINDOW_SECONDS * 1000 + 200);
    const ownHandle = (await b.get('/auth/me')).body.session.handle as string;
    expect((await b.delete(`/auth/sessions/${ownHandle}`)).status).toBe(204);
  }, 30_000);

  it('delete account: needs the password; every session revoked; user and email index removed', async () => {
    const { b, email } = await signedIn(app);
    const others = [await second(email), await second(email)];
    const userId = (await b.get('/auth/me')).body.user.id as string;

    expectError(await b.request('DELETE', '/auth/account', { json: {} }), 400, 'VALIDATION_FAILED');
    expectError(await b.request('DELETE', '/auth/account', { json: { password: 'wrong password' } }), 403, 'INVALID_PASSWORD');
    expect((await others[0]!.get('/auth/me')).status).toBe(200);

    const before = await readMetric(app, 'sessions_revoked_total', { reason: 'account_delete' });
    const r = await b.request('DELETE', '/auth/account', { json: { password: PASSWORD } });
    expect(r.status, JSON.stringify(r.body)).toBe(204);
    expect(b.jar.has('sid')).toBe(false);
    expect(b.jar.has('device')).toBe(false);
    for (const x of [b, ...others]) expectError(await x.get('/auth/me'), 401, 'UNAUTHENTICATED');
    expect(await readMetric(app, 'sessions_revoked_total', { reason: 'account_delete' })).toBe(before + 3);
    expectError(await new Browser(app.url).login(email, PASSWORD), 401, 'INVALID_CREDENTIALS');

    const url = await env.dataUrl();
    if (url) {
      expect(await redisCommand(url, ['EXISTS', `${env.prefix}user:${userId}`, `${env.prefix}email:${email}`])).toBe(0);
    }
    // The address is free again: a new account, a new id.
    const again = await new Browser(app.url).register(email, PASSWORD);
    expect(again.status).toBe(201);
    expect(again.body.user.id).not.toBe(userId);
  });

  it('a password check from a session is throttled like a login (a stolen cookie is no free oracle)', async () => {
    const { b } = await signedIn(app);
    // This browser logged in, so its device budget applies: LOGIN_MAX_FAILURES_PER_DEVICE (10).
    for (let i = 0; i < 10; i++) expectError(await b.post('/auth/reauth', { password: `wrong ${i}` }), 403, 'INVALID_PASSWORD');
    const r = await b.post('/auth/reauth', { password: PASSWORD });
    expectError(r, 429, 'TOO_MANY_ATTEMPTS');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await readMetric(app, 'auth_account_actions_total', { action: 'reauth', outcome: 'throttled' })).toBeGreaterThanOrEqual(1);
  });
});
