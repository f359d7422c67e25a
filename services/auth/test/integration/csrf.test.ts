import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standalone } from '@session-auth/topology';
import { withRedis } from '../support/redis.js';
import type { TestApp } from '../support/app.js';
import { Browser, PASSWORD, STORES, expectError, signedIn, startOn, uniqueEmail } from './_helpers.js';

let redis: Standalone;
beforeAll(async () => {
  redis = await withRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const EVIL = 'https://evil.example';

describe.each(STORES)('CSRF (%s store)', (store) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn(store, redis.url);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('refuses an authenticated unsafe request without x-csrf-token, or with a wrong one', async () => {
    const { b } = await signedIn(app);
    const handle = (await b.get('/auth/me')).body.session.handle;
    expectError(await b.request('POST', '/auth/logout', { csrf: false }), 403, 'CSRF_TOKEN_INVALID');
    expectError(await b.request('POST', '/auth/logout-all', { csrf: false, json: {} }), 403, 'CSRF_TOKEN_INVALID');
    expectError(await b.request('DELETE', `/auth/sessions/${handle}`, { csrf: false }), 403, 'CSRF_TOKEN_INVALID');
    const wrong = b.csrf!.slice(0, -1) + (b.csrf!.endsWith('A') ? 'B' : 'A');
    expectError(await b.request('POST', '/auth/logout', { headers: { 'x-csrf-token': wrong } }), 403, 'CSRF_TOKEN_INVALID');
    expectError(await b.request('POST', '/auth/logout', { headers: { 'x-csrf-token': 'short' } }), 403, 'CSRF_TOKEN_INVALID');
    // Another session's token does not fit this session.
    const { b: other } = await signedIn(app);
    expectError(await b.request('POST', '/auth/logout', { headers: { 'x-csrf-token': other.csrf! } }), 403, 'CSRF_TOKEN_INVALID');
    // Nothing happened: still logged in; with the right token it works.
    expect((await b.get('/auth/me')).status).toBe(200);
    expect((await b.post('/auth/logout')).status).toBe(204);
  });

  it('refuses a cross-origin Origin on every unsafe route, login and register included', async () => {
    const { b, email } = await signedIn(app);
    const evil = { origin: EVIL };
    expectError(await b.post('/auth/logout', undefined, evil), 403, 'CSRF_ORIGIN_MISMATCH');
    expectError(await b.post('/auth/logout-all', {}, evil), 403, 'CSRF_ORIGIN_MISMATCH');
    // An opaque origin (sandboxed iframe, data: URL) and a look-alike of our own origin.
    expectError(await b.post('/auth/logout', undefined, { origin: 'null' }), 403, 'CSRF_ORIGIN_MISMATCH');
    expectError(await b.post('/auth/logout', undefined, { origin: app.url.replace('http:', 'https:') }), 403, 'CSRF_ORIGIN_MISMATCH');
    const fresh = new Browser(app.url);
    expectError(await fresh.post('/auth/login', { email, password: PASSWORD }, evil), 403, 'CSRF_ORIGIN_MISMATCH');
    expect(fresh.jar.size).toBe(0);
    const newEmail = uniqueEmail();
    expectError(await fresh.post('/auth/register', { email: newEmail, password: PASSWORD }, evil), 403, 'CSRF_ORIGIN_MISMATCH');
    // The refused register did not create the account.
    expect((await fresh.register(newEmail, PASSWORD)).status).toBe(201);
    expect((await b.get('/auth/me')).status).toBe(200);
  });

  it.each([
    ['cross-site', 403],
    ['same-site', 403],
    ['same-origin', 204],
    ['none', 204],
  ])('Sec-Fetch-Site: %s on logout -> %d', async (site, status) => {
    const { b } = await signedIn(app);
    const r = await b.post('/auth/logout', undefined, { 'sec-fetch-site': site, origin: EVIL });
    expect(r.status).toBe(status);
    if (status === 403) expectError(r, 403, 'CSRF_ORIGIN_MISMATCH');
  });

  it('Sec-Fetch-Site: cross-site is refused on login too', async () => {
    const { email } = await signedIn(app);
    expectError(
      await new Browser(app.url).post('/auth/login', { email, password: PASSWORD }, { 'sec-fetch-site': 'cross-site' }),
      403,
      'CSRF_ORIGIN_MISMATCH',
    );
  });

  it('accepts the service\'s own Origin', async () => {
    const { b, email } = await signedIn(app);
    const own = { origin: app.url };
    expect((await new Browser(app.url).post('/auth/login', { email, password: PASSWORD }, own)).status).toBe(200);
    expect((await b.post('/auth/logout', undefined, own)).status).toBe(204);
  });

  it('does not apply the origin check to safe methods', async () => {
    const { b } = await signedIn(app);
    expect((await b.get('/auth/me', { origin: EVIL, 'sec-fetch-site': 'cross-site' })).status).toBe(200);
  });
});

describe('PUBLIC_ORIGIN set (memory store)', () => {
  const PUBLIC = 'https://auth.example.com';
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn('memory', undefined, { PUBLIC_ORIGIN: `${PUBLIC}/ignored/path` });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('accepts only that origin', async () => {
    const { email } = await signedIn(app);
    const login = (origin: string) => new Browser(app.url).post('/auth/login', { email, password: PASSWORD }, { origin });
    expect((await login(PUBLIC)).status).toBe(200);
    expectError(await login(app.url), 403, 'CSRF_ORIGIN_MISMATCH');
    expectError(await login(EVIL), 403, 'CSRF_ORIGIN_MISMATCH');
    expectError(await login('http://auth.example.com'), 403, 'CSRF_ORIGIN_MISMATCH');
    expectError(await login('https://auth.example.com.evil.example'), 403, 'CSRF_ORIGIN_MISMATCH');
  });
});
