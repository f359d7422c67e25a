import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standalone } from '@session-auth/topology';
import { withRedis } from '../support/redis.js';
import type { TestApp } from '../support/app.js';
import { SID, STORES, anotherLogin, expectError, parseSetCookie, signedIn, startOn } from './_helpers.js';

let redis: Standalone;
beforeAll(async () => {
  redis = await withRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const CHROME_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Safari/537.36';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0';

describe.each(STORES)('session management (%s store)', (store) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn(store, redis.url);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('lists my sessions oldest first, with the current flag, client ip and a user-agent summary', async () => {
    const { b: chrome, email, login } = await signedIn(app, undefined);
    // signedIn used a browser without a UA header; log in again from two named browsers.
    const c = await anotherLogin(app, email, { 'user-agent': CHROME_LINUX });
    const f = await anotherLogin(app, email, { 'user-agent': FIREFOX_WINDOWS });
    const r = await c.get('/auth/sessions');
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const list = r.body.sessions as Record<string, unknown>[];
    expect(list).toHaveLength(3);
    expect(list[0]!.handle).toBe(login.body.session.handle);
    expect(list.map((s) => s.current)).toEqual([false, true, false]);
    expect(list[1]!.userAgent).toBe('Chrome 124 on Linux');
    expect(list[2]!.userAgent).toBe('Firefox 125 on Windows');
    for (const s of list) {
      expect(s.ip).toBe('127.0.0.1');
      expect(Object.keys(s).sort()).toEqual(
        ['absoluteExpiresAt', 'createdAt', 'current', 'expiresAt', 'handle', 'idleExpiresAt', 'ip', 'lastSeenAt', 'userAgent'].sort(),
      );
    }
    const times = list.map((s) => Date.parse(s.createdAt as string));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // No token or token hash leaks into the listing.
    const text = JSON.stringify(r.body);
    for (const br of [chrome, c, f]) expect(text).not.toContain(br.jar.get(SID));
    // Each browser sees itself as current.
    const fromFirefox = await f.get('/auth/sessions');
    expect(fromFirefox.body.sessions.map((s: { current: boolean }) => s.current)).toEqual([false, false, true]);
  });

  it('revokes another of my sessions by handle: that browser gets 401, mine keeps working', async () => {
    const { b: mine, email } = await signedIn(app);
    const other = await anotherLogin(app, email);
    const otherHandle = (await other.get('/auth/me')).body.session.handle;
    const r = await mine.delete(`/auth/sessions/${otherHandle}`);
    expect(r.status).toBe(204);
    expect(r.setCookies.filter((c) => c.startsWith(`${SID}=`))).toEqual([]); // my cookie untouched
    expectError(await other.get('/auth/me'), 401, 'UNAUTHENTICATED');
    expect((await mine.get('/auth/me')).status).toBe(200);
    expect((await mine.get('/auth/sessions')).body.sessions).toHaveLength(1);
    // Revoking it again: it is gone.
    expectError(await mine.delete(`/auth/sessions/${otherHandle}`), 404, 'SESSION_NOT_FOUND');
  });

  it('answers 404 SESSION_NOT_FOUND for an unknown, malformed or another user\'s handle', async () => {
    const { b } = await signedIn(app);
    const { b: stranger } = await signedIn(app);
    const strangerHandle = (await stranger.get('/auth/me')).body.session.handle;
    expectError(await b.delete('/auth/sessions/AAAAAAAAAAAAAAAA'), 404, 'SESSION_NOT_FOUND');
    expectError(await b.delete('/auth/sessions/not-a-handle'), 404, 'SESSION_NOT_FOUND');
    expectError(await b.delete(`/auth/sessions/${'x'.repeat(200)}`), 404, 'SESSION_NOT_FOUND');
    expectError(await b.delete('/auth/sessions/%E2%80%AE%00'), 404, 'SESSION_NOT_FOUND');
    expectError(await b.delete(`/auth/sessions/${strangerHandle}`), 404, 'SESSION_NOT_FOUND');
    expect((await stranger.get('/auth/me')).status).toBe(200);
  });

  it('revoking my own handle logs me out and clears the cookie', async () => {
    const { b } = await signedIn(app);
    const handle = (await b.get('/auth/me')).body.session.handle;
    const r = await b.delete(`/auth/sessions/${handle}`);
    expect(r.status).toBe(204);
    const cleared = r.setCookies.map(parseSetCookie).find((c) => c.name === SID);
    expect(cleared?.value).toBe('');
    expect(cleared?.attributes.get('expires')).toMatch(/1970/);
    expectError(await b.get('/auth/me'), 401, 'UNAUTHENTICATED');
  });

  it('logout-all revokes every session, the current one included', async () => {
    const { b, email } = await signedIn(app);
    const others = [await anotherLogin(app, email), await anotherLogin(app, email)];
    const r = await b.post('/auth/logout-all');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ revoked: 3 });
    expect(b.jar.has(SID)).toBe(false);
    for (const x of [b, ...others]) expectError(await x.get('/auth/me'), 401, 'UNAUTHENTICATED');
  });

  it('logout-all {keepCurrent:true} revokes only the others', async () => {
    const { b, email } = await signedIn(app);
    const others = [await anotherLogin(app, email), await anotherLogin(app, email)];
    const r = await b.post('/auth/logout-all', { keepCurrent: true });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ revoked: 2 });
    expect((await b.get('/auth/me')).status).toBe(200);
    for (const x of others) expectError(await x.get('/auth/me'), 401, 'UNAUTHENTICATED');
    const list = (await b.get('/auth/sessions')).body.sessions;
    expect(list).toHaveLength(1);
    expect(list[0].current).toBe(true);
    expectError(await b.post('/auth/logout-all', { keepCurrent: 'yes' }), 400, 'VALIDATION_FAILED');
  });
});

describe.each(STORES)('SESSION_MAX_PER_USER=2 (%s store)', (store) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn(store, redis.url, { SESSION_MAX_PER_USER: '2' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a third login evicts the oldest session', async () => {
    const { b: first, email } = await signedIn(app);
    const second = await anotherLogin(app, email);
    const third = await anotherLogin(app, email);
    expectError(await first.get('/auth/me'), 401, 'UNAUTHENTICATED');
    expect((await second.get('/auth/me')).status).toBe(200);
    expect((await third.get('/auth/me')).status).toBe(200);
    expect((await third.get('/auth/sessions')).body.sessions).toHaveLength(2);
  });
});
