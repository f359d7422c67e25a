import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standalone } from '@session-auth/topology';
import { withRedis } from '../support/redis.js';
import { startApp, waitReady, type TestApp } from '../support/app.js';
import { ERRORS } from '../../src/errors.js';
import { openApiDocument } from '../../src/http/openapi.js';
import { Browser, SID, STORES, anotherLogin, metric, metricsText, signedIn, startOn, token, uniqueEmail } from './_helpers.js';

let redis: Standalone;
beforeAll(async () => {
  redis = await withRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.each(STORES)('logs (%s store, LOG_LEVEL=debug)', (store) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn(store, redis.url, { LOG_LEVEL: 'debug' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('never contain a password, a session token, its signature or a CSRF token', async () => {
    const secret = `pw-${uniqueEmail()}-secret`;
    const email = uniqueEmail();
    const b = new Browser(app.url, { 'x-request-id': 'trace-me-123' });
    expect((await b.register(email, secret)).status).toBe(201);
    expect((await b.login(email, 'wrong-password-xyz')).status).toBe(401);
    expect((await new Browser(app.url).login(uniqueEmail(), 'unknown-user-pw')).status).toBe(401);
    const login = await b.login(email, secret);
    expect(login.status).toBe(200);
    const t = token(b);
    const sig = b.jar.get(`${SID}.sig`)!;
    const csrf = login.body.csrfToken as string;
    expect((await b.get('/auth/me')).status).toBe(200);
    expect((await b.get('/auth/sessions')).status).toBe(200);
    const other = new Browser(app.url);
    expect((await other.login(email.toUpperCase(), secret)).status).toBe(200);
    expect((await b.delete(`/auth/sessions/${(await other.get('/auth/me')).body.session.handle}`)).status).toBe(204);
    expect((await b.request('POST', '/auth/logout', { csrf: false })).status).toBe(403); // the token is not logged on refusal
    expect((await b.post('/auth/logout')).status).toBe(204);
    expect((await b.get('/auth/me')).status).toBe(401);

    const logs = app.logs();
    // The requests were logged at all (otherwise the test proves nothing).
    expect(logs).toContain('"reqId":"trace-me-123"');
    expect(logs).toContain('"route":"/auth/login"');
    for (const [what, value] of Object.entries({ secret, t, sig, csrf, wrong: 'wrong-password-xyz', unknown: 'unknown-user-pw' })) {
      expect(logs.includes(value), `${what} appears in the log`).toBe(false);
    }
    for (const line of logs.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe('metrics and API description (memory store)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn('memory', undefined);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('/metrics exposes validation outcomes/sources and HTTP latency by route pattern, never a raw handle', async () => {
    const { b, email } = await signedIn(app);
    const other = await anotherLogin(app, email);
    const handle = (await other.get('/auth/me')).body.session.handle as string;
    expect((await b.delete(`/auth/sessions/${handle}`)).status).toBe(204);
    expect((await b.delete('/auth/sessions/AAAAAAAAAAAAAAAA')).status).toBe(404);
    expect((await new Browser(app.url).get('/auth/me')).status).toBe(401);
    expect((await other.get('/auth/me')).status).toBe(401);
    expect((await new Browser(app.url).login(email, 'wrong password')).status).toBe(401);
    expect((await new Browser(app.url).get('/no/such/path')).status).toBe(404);

    const r = await fetch(`${app.url}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    expect(text).toContain('# TYPE session_validation_duration_seconds histogram');
    expect(metric(text, 'session_validation_duration_seconds_count', { outcome: 'valid', source: 'store' })).toBeGreaterThan(0);
    expect(metric(text, 'session_validation_duration_seconds_count', { outcome: 'missing', source: 'none' })).toBeGreaterThan(0);
    expect(metric(text, 'session_validation_duration_seconds_count', { outcome: 'invalid', source: 'store' })).toBeGreaterThan(0);

    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    const count = (labels: Record<string, string>) => metric(text, 'http_request_duration_seconds_count', labels);
    expect(count({ method: 'DELETE', route: '/auth/sessions/:handle', status: '204' })).toBe(1);
    expect(count({ method: 'DELETE', route: '/auth/sessions/:handle', status: '404' })).toBe(1);
    // Error statuses are recorded as answered, not as the 404 Koa starts every request with.
    expect(count({ method: 'GET', route: '/auth/me', status: '401' })).toBe(2);
    expect(count({ method: 'POST', route: '/auth/login', status: '401' })).toBe(1);
    expect(count({ method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(handle);
    expect(text).not.toContain('AAAAAAAAAAAAAAAA');
    expect(text).not.toContain('/no/such/path');
    expect(metric(text, 'sessions_revoked_total', { reason: 'revoke' })).toBe(1);
    expect(metric(text, 'auth_logins_total', { outcome: 'success' })).toBe(2);
    expect(metric(text, 'auth_logins_total', { outcome: 'invalid_credentials' })).toBe(1);
    expect(metric(text, 'session_store_ready')).toBe(1);
  });

  it('GET /openapi.json is the committed services/auth/openapi.json (npm run openapi regenerates it)', async () => {
    const committed = readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8');
    expect(committed).toBe(`${JSON.stringify(openApiDocument(), null, 2)}\n`);
    const r = await fetch(`${app.url}/openapi.json`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await r.json()).toEqual(JSON.parse(committed));
  });

  it('the OpenAPI Error enum lists every error code, and every documented status is the code\'s status', async () => {
    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as ReturnType<typeof openApiDocument>;
    const codes = doc.components.schemas.Error.properties.error.properties.code.enum;
    expect([...codes].sort()).toEqual(Object.keys(ERRORS).sort());
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops as Record<string, { responses: Record<string, { description: string }> }>)) {
        for (const [status, res] of Object.entries(op.responses)) {
          if (Number(status) < 400) continue;
          for (const code of res.description.split(', ')) {
            expect(ERRORS[code as keyof typeof ERRORS]?.status, `${path} ${status} ${code}`).toBe(Number(status));
          }
        }
      }
    }
  });

  it('/healthz and /readyz answer', async () => {
    expect(await (await fetch(`${app.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = (await (await fetch(`${app.url}/readyz`)).json()) as { status: string; store: string };
    expect(ready.status).toBe('ready');
    expect(ready.store).toBe('memory');
    expect(metric(await metricsText(app), 'session_store_operation_duration_seconds_count', { op: 'ping' })).toBeGreaterThan(0);
  });
});

describe('store metrics name the backend each collaborator really runs on (replicated mode)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({
      SESSION_STORE: 'replicated',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `sa:obs-${Date.now()}:`,
      REPLICATED_KEY_PREFIX: `sa:obs-${Date.now()}:replication`,
    });
    await waitReady(app);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('sessions are "replicated"; users and the throttle, on the Redis of REDIS_URL, are "redis"', async () => {
    const { b } = await signedIn(app);
    expect((await b.get('/auth/me')).status).toBe(200);
    const text = await metricsText(app);
    const ops = (backend: string, op: string) => metric(text, 'session_store_operation_duration_seconds_count', { op, backend });
    expect(ops('replicated', 'create')).toBeGreaterThan(0);
    expect(ops('replicated', 'get')).toBeGreaterThan(0);
    expect(ops('redis', 'user_create')).toBeGreaterThan(0);
    expect(ops('redis', 'user_get')).toBeGreaterThan(0);
    expect(ops('redis', 'throttle')).toBeGreaterThan(0);
    for (const op of ['user_create', 'user_get', 'throttle']) expect(ops('replicated', op)).toBe(0);
    for (const op of ['create', 'get']) expect(ops('redis', op)).toBe(0);
  });
});
