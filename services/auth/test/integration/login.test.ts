import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standalone } from '@session-auth/topology';
import { withRedis } from '../support/redis.js';
import type { TestApp } from '../support/app.js';
import {
  Browser,
  PASSWORD,
  SID,
  STORES,
  TEST_KEY,
  expectError,
  meWith,
  parseSetCookie,
  readMetric,
  sign,
  signedIn,
  startOn,
  token,
  uniqueEmail,
} from './_helpers.js';

let redis: Standalone;
beforeAll(async () => {
  redis = await withRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
const OTHER_KEY = 'another-key-0123456789-0123456789-012345';

describe.each(STORES)('login and session validation (%s store)', (store) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn(store, redis.url);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('logs in: 200 with user, session and csrfToken, and an HttpOnly SameSite=Lax signed cookie', async () => {
    const email = uniqueEmail();
    const b = new Browser(app.url);
    await b.register(email, PASSWORD);
    const before = Date.now();
    const r = await b.login(email, PASSWORD);
    expect(r.status).toBe(200);
    expect(r.body.user).toEqual({ id: expect.any(String), email });
    expect(r.body.csrfToken).toMatch(TOKEN_RE);
    const s = r.body.session;
    expect(s.handle).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(Date.parse(s.createdAt)).toBeGreaterThanOrEqual(before - 1);
    expect(s.lastSeenAt).toBe(s.createdAt);
    expect(Date.parse(s.idleExpiresAt) - Date.parse(s.lastSeenAt)).toBe(app.config.session.idleTimeoutMs);
    expect(Date.parse(s.absoluteExpiresAt) - Date.parse(s.createdAt)).toBe(app.config.session.absoluteTimeoutMs);

    const cookies = r.setCookies.map(parseSetCookie).filter((c) => c.value !== '');
    const byName = new Map(cookies.map((c) => [c.name, c]));
    // The session pair, and the device cookie that gives this browser its own throttle budget.
    expect([...byName.keys()].sort()).toEqual(['device', SID, `${SID}.sig`]);
    const device = byName.get('device')!;
    expect(device.attributes.has('httponly')).toBe(true);
    expect(device.attributes.get('samesite')).toBe('strict');
    expect(device.value).not.toContain('@');
    const sid = byName.get(SID)!;
    expect(sid.value).toMatch(TOKEN_RE); // 32 random bytes: 256 bits
    expect(Buffer.from(sid.value, 'base64url')).toHaveLength(32);
    expect(byName.get(`${SID}.sig`)!.value).toBe(sign(SID, sid.value, TEST_KEY));
    for (const c of [sid, byName.get(`${SID}.sig`)!]) {
      expect(c.attributes.has('httponly')).toBe(true);
      expect(c.attributes.get('samesite')).toBe('lax');
      expect(c.attributes.get('path')).toBe('/');
      expect(c.attributes.has('secure')).toBe(false);
      expect(c.attributes.has('domain')).toBe(false);
    }
    // The token is a cookie only: never in a body.
    expect(JSON.stringify(r.body)).not.toContain(sid.value);
    expect(r.headers.get('cache-control') ?? '').not.toMatch(/public/);
  });

  it('gives an unknown email and a wrong password the same answer, and verifies argon2 for both', async () => {
    const { email } = await signedIn(app);
    const verifies = () => readMetric(app, 'auth_password_hash_duration_seconds_count', { op: 'verify' });

    const v0 = await verifies();
    const unknown = await new Browser(app.url).login(uniqueEmail('nobody'), PASSWORD);
    const v1 = await verifies();
    const wrong = await new Browser(app.url).login(email, 'wrong password!');
    const v2 = await verifies();

    expectError(unknown, 401, 'INVALID_CREDENTIALS');
    expect(wrong.status).toBe(unknown.status);
    expect(wrong.body).toEqual(unknown.body);
    expect(unknown.setCookies.filter((c) => !/=;|expires=Thu, 01 Jan 1970/i.test(c))).toEqual([]);
    expect(v1 - v0).toBe(1);
    expect(v2 - v1).toBe(1);
  });

  it('answers 400 for a login body that is not {email, password}', async () => {
    const b = new Browser(app.url);
    expectError(await b.post('/auth/login', { email: uniqueEmail() }), 400, 'VALIDATION_FAILED');
    expectError(await b.post('/auth/login', { email: uniqueEmail(), password: '' }), 400, 'VALIDATION_FAILED');
    expectError(await b.post('/auth/login', { email: uniqueEmail(), password: 'x'.repeat(1025) }), 400, 'VALIDATION_FAILED');
    expectError(await b.post('/auth/login', { email: uniqueEmail(), password: PASSWORD, remember: true }), 400, 'VALIDATION_FAILED');
  });

  describe('session fixation', () => {
    it('a login from a browser that has a valid session gets a new token; the old one stops working', async () => {
      const { b, email } = await signedIn(app);
      const old = token(b);
      const oldSig = b.jar.get(`${SID}.sig`)!;
      const again = await b.login(email, PASSWORD);
      expect(again.status).toBe(200);
      const fresh = token(b);
      expect(fresh).toMatch(TOKEN_RE);
      expect(fresh).not.toBe(old);
      expect((await b.get('/auth/me')).status).toBe(200);
      expectError(await meWith(app.url, `${SID}=${old}; ${SID}.sig=${oldSig}`), 401, 'UNAUTHENTICATED');
    });

    it.each([
      ['signed with the real key', true],
      ['unsigned', false],
    ])('a login carrying an attacker-chosen well-formed cookie (%s) gets a different token', async (_n, signed) => {
      const email = uniqueEmail();
      const victim = new Browser(app.url);
      expect((await victim.register(email, PASSWORD)).status).toBe(201);
      const planted = randomBytes(32).toString('base64url');
      victim.jar.set(SID, planted);
      if (signed) victim.jar.set(`${SID}.sig`, sign(SID, planted, TEST_KEY));
      const r = await victim.login(email, PASSWORD);
      expect(r.status).toBe(200);
      expect(token(victim)).not.toBe(planted);
      // The attacker's copy of the planted value is worth nothing.
      const attacker = `${SID}=${planted}; ${SID}.sig=${sign(SID, planted, TEST_KEY)}`;
      expectError(await meWith(app.url, attacker), 401, 'UNAUTHENTICATED');
      expect((await victim.get('/auth/me')).status).toBe(200);
    });
  });

  describe('GET /auth/me', () => {
    it('answers 200 with user, session and csrfToken, and is not cacheable', async () => {
      const { b, email, login } = await signedIn(app);
      const r = await b.get('/auth/me');
      expect(r.status).toBe(200);
      expect(r.body.user).toEqual({ id: login.body.user.id, email });
      expect(r.body.session).toEqual(login.body.session);
      expect(Object.keys(r.body.session).sort()).toEqual(['absoluteExpiresAt', 'createdAt', 'handle', 'idleExpiresAt', 'lastSeenAt']);
      expect(r.body.csrfToken).toBe(login.body.csrfToken);
      expect(r.headers.get('cache-control')).toBe('no-store');
    });

    it('answers 401 UNAUTHENTICATED for missing, tampered, truncated and foreign cookies', async () => {
      const { b } = await signedIn(app);
      const t = token(b);
      const sig = b.jar.get(`${SID}.sig`)!;
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
      const truncated = t.slice(0, 42);
      const cases: [string, string][] = [
        ['no cookie', ''],
        ['value without signature', `${SID}=${t}`],
        ['tampered value, original signature', `${SID}=${flip(t, 10)}; ${SID}.sig=${sig}`],
        ['tampered signature', `${SID}=${t}; ${SID}.sig=${flip(sig, 5)}`],
        ['truncated token, valid signature', `${SID}=${truncated}; ${SID}.sig=${sign(SID, truncated, TEST_KEY)}`],
        ['signed with a foreign key', `${SID}=${t}; ${SID}.sig=${sign(SID, t, OTHER_KEY)}`],
      ];
      for (const [name, cookie] of cases) {
        const r = cookie ? await meWith(app.url, cookie) : await new Browser(app.url).get('/auth/me');
        expect({ name, status: r.status, code: r.body?.error?.code }).toEqual({ name, status: 401, code: 'UNAUTHENTICATED' });
      }
      // The untouched cookie still works: the 401s were about the tampering.
      expect((await meWith(app.url, `${SID}=${t}; ${SID}.sig=${sig}`)).status).toBe(200);
    });

    it('answers 401 after logout (the token is revoked, not only the cookie cleared)', async () => {
      const { b } = await signedIn(app);
      const cookie = b.cookieHeader();
      const out = await b.post('/auth/logout');
      expect(out.status).toBe(204);
      const cleared = out.setCookies.map(parseSetCookie).find((c) => c.name === SID);
      expect(cleared?.value).toBe('');
      expect(cleared?.attributes.get('expires')).toMatch(/1970/);
      expect(b.jar.has(SID)).toBe(false);
      expectError(await b.get('/auth/me'), 401, 'UNAUTHENTICATED');
      expectError(await meWith(app.url, cookie), 401, 'UNAUTHENTICATED');
    });
  });
});

describe.each(STORES)('key rotation (%s store)', (store) => {
  let app: TestApp;
  const NEW_KEY = 'brand-new-key-0123456789-0123456789-0123';
  beforeAll(async () => {
    app = await startOn(store, redis.url, { SESSION_KEYS: `${NEW_KEY},${TEST_KEY}` });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('signs with the first key and still accepts a cookie signed with an older key', async () => {
    const { b } = await signedIn(app);
    const t = token(b);
    expect(b.jar.get(`${SID}.sig`)).toBe(sign(SID, t, NEW_KEY));
    const oldSigned = new Browser(app.url);
    oldSigned.jar.set(SID, t);
    oldSigned.jar.set(`${SID}.sig`, sign(SID, t, TEST_KEY));
    const r = await oldSigned.get('/auth/me');
    expect(r.status).toBe(200);
    // ...and re-signs it with the current key.
    expect(oldSigned.jar.get(`${SID}.sig`)).toBe(sign(SID, t, NEW_KEY));
    expectError(await meWith(app.url, `${SID}=${t}; ${SID}.sig=${sign(SID, t, OTHER_KEY)}`), 401, 'UNAUTHENTICATED');
  });
});

describe('cookie security behind a proxy (memory store)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn('memory', undefined, { COOKIE_SECURE: 'true', TRUST_PROXY: 'true' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('sets __Host-sid with Secure when the proxy says the request was HTTPS', async () => {
    const b = new Browser(app.url, { 'x-forwarded-proto': 'https' });
    const email = uniqueEmail();
    expect((await b.register(email, PASSWORD)).status).toBe(201);
    const r = await b.login(email, PASSWORD);
    expect(r.status).toBe(200);
    const cookies = r.setCookies.map(parseSetCookie).filter((c) => c.value !== '');
    expect(cookies.map((c) => c.name).sort()).toEqual(['__Host-device', '__Host-sid', '__Host-sid.sig']);
    for (const c of cookies) {
      expect(c.attributes.has('secure')).toBe(true);
      expect(c.attributes.has('httponly')).toBe(true);
      expect(c.attributes.get('samesite')).toBe(c.name === '__Host-device' ? 'strict' : 'lax');
      expect(c.attributes.get('path')).toBe('/');
      expect(c.attributes.has('domain')).toBe(false);
    }
    expect(b.jar.has(SID)).toBe(false);
    expect((await b.get('/auth/me')).status).toBe(200);
    expect((await b.post('/auth/logout')).status).toBe(204);
  });
});

describe('COOKIE_SECURE=true reached over plain HTTP (no trusted proxy)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn('memory', undefined, { COOKIE_SECURE: 'true' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('refuses the login with a clear 403 HTTPS_REQUIRED, sets no session cookie and creates no session', async () => {
    const b = new Browser(app.url);
    const email = uniqueEmail();
    expect((await b.register(email, PASSWORD)).status).toBe(201);
    const created = await readMetric(app, 'sessions_created_total');
    const r = await b.login(email, PASSWORD);
    expectError(r, 403, 'HTTPS_REQUIRED');
    expect(r.body.error.message).toMatch(/HTTPS/);
    expect(r.setCookies.filter((c) => /^__Host-sid=[^;]/.test(c))).toEqual([]);
    expect(await readMetric(app, 'sessions_created_total')).toBe(created);
    // Still up and answering.
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    expect(app.logs()).toMatch(/HTTPS_REQUIRED/);
  });
});
