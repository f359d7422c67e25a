import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standalone } from '@session-auth/topology';
import { withRedis } from '../support/redis.js';
import type { TestApp } from '../support/app.js';
import type { Res } from '../support/client.js';
import { Browser, PASSWORD, SID, STORES, expectError, meWith, signedIn, startOn, token } from './_helpers.js';

let redis: Standalone;
beforeAll(async () => {
  redis = await withRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Sends exactly these bytes with exactly these headers (fetch would fix some of them up). */
function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          // keep text
        }
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve({ status: res.statusCode ?? 0, body: parsed, headers: h, setCookies: [] });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe.each(STORES)('bad input (%s store)', (store) => {
  let app: TestApp;
  let victim: Browser;
  let victimEmail: string;
  beforeAll(async () => {
    app = await startOn(store, redis.url, { HTTP_BODY_LIMIT_BYTES: '8192' });
    ({ b: victim, email: victimEmail } = await signedIn(app));
  });
  afterAll(async () => {
    await app?.close();
  });

  const json = { 'content-type': 'application/json' };
  const post = (path: string, body: string | Buffer, headers: Record<string, string> = json) =>
    raw(app.url, 'POST', path, { ...headers, 'content-length': String(Buffer.byteLength(body)) }, body);

  it('malformed JSON -> 400 MALFORMED_JSON', async () => {
    expectError(await post('/auth/login', '{"email": "a@example.com", "password": '), 400, 'MALFORMED_JSON');
    expectError(await post('/auth/register', "{'email': 'single quotes'}"), 400, 'MALFORMED_JSON');
    expectError(await post('/auth/login', '\u0000\u0001garbage'), 400, 'MALFORMED_JSON');
    expectError(await post('/auth/login', Buffer.from([0xff, 0xfe, 0x7b, 0x7d])), 400, 'MALFORMED_JSON');
  });

  it('a non-JSON content type -> 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const body = JSON.stringify({ email: victimEmail, password: PASSWORD });
    expectError(await post('/auth/login', body, { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await post('/auth/login', 'email=a&password=b', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await post('/auth/register', body, {}), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await post('/auth/logout-all', '{}', { 'content-type': 'multipart/form-data; boundary=x' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('a compressed body, valid or corrupt -> 415 UNSUPPORTED_MEDIA_TYPE, never a 5xx', async () => {
    const body = JSON.stringify({ email: victimEmail, password: PASSWORD });
    const gz = gzipSync(body);
    for (const [encoding, bytes] of [
      ['gzip', Buffer.from('hello')],
      ['gzip', gz.subarray(0, 15)],
      ['gzip', gz],
      ['deflate', Buffer.from('garbage')],
      ['br', Buffer.from('garbage')],
      ['x-unknown', Buffer.from(body)],
    ] as const) {
      expectError(await post('/auth/login', bytes, { ...json, 'content-encoding': encoding }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    // identity is no encoding at all.
    expect((await post('/auth/login', body, { ...json, 'content-encoding': 'identity' })).status).toBe(200);
  });

  it('a body over HTTP_BODY_LIMIT_BYTES -> 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(9000) });
    expectError(await post('/auth/register', big), 413, 'PAYLOAD_TOO_LARGE');
    // Also without a Content-Length (chunked).
    const chunked = await raw(app.url, 'POST', '/auth/login', { ...json, 'transfer-encoding': 'chunked' }, big);
    expectError(chunked, 413, 'PAYLOAD_TOO_LARGE');
  });

  it.each([
    ['an array', '[]'],
    ['an array of objects', '[{"email":"a@example.com","password":"correct horse battery staple"}]'],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"hello"'],
    ['true', 'true'],
  ])('%s as the body -> 400', async (_name, body) => {
    for (const path of ['/auth/login', '/auth/register']) {
      const r = await post(path, body);
      expect(r.status).toBe(400);
      expect(['MALFORMED_JSON', 'VALIDATION_FAILED']).toContain(r.body.error.code);
    }
  });

  it('deeply nested JSON -> 400, quickly', async () => {
    const depth = 4000;
    const nested = `{"email":${'['.repeat(depth)}${']'.repeat(depth)},"password":"x"}`;
    expect(Buffer.byteLength(nested)).toBeLessThan(8192);
    const start = Date.now();
    expectError(await post('/auth/login', nested), 400, 'VALIDATION_FAILED');
    const objects = `${'{"a":'.repeat(1300)}1${'}'.repeat(1300)}`;
    expect(Buffer.byteLength(objects)).toBeLessThan(8192);
    expectError(await post('/auth/register', objects), 400, 'VALIDATION_FAILED');
    expect(Date.now() - start).toBeLessThan(1000);
  });

  it('unknown route -> 404 NOT_FOUND; wrong method -> 405 METHOD_NOT_ALLOWED', async () => {
    const b = new Browser(app.url);
    expectError(await b.get('/nope'), 404, 'NOT_FOUND');
    expectError(await b.get('/auth/nope'), 404, 'NOT_FOUND');
    expectError(await b.post('/auth/nope', {}), 404, 'NOT_FOUND');
    expectError(await b.get('/auth/me/extra'), 404, 'NOT_FOUND');
    expectError(await b.request('PUT', '/auth/me'), 405, 'METHOD_NOT_ALLOWED');
    expectError(await b.get('/auth/login'), 405, 'METHOD_NOT_ALLOWED');
    expectError(await b.request('DELETE', '/auth/logout'), 405, 'METHOD_NOT_ALLOWED');
    expectError(await b.request('POST', '/healthz'), 405, 'METHOD_NOT_ALLOWED');
    expectError(await b.request('PATCH', '/auth/sessions'), 405, 'METHOD_NOT_ALLOWED');
    // The app hands /auth/ paths to the auth router only (app.ts): the routers match paths
    // case-insensitively, and so does that hand-over.
    expectError(await b.get('/auth'), 404, 'NOT_FOUND');
    expectError(await b.get('/AUTH/me'), 401, 'UNAUTHENTICATED');
    expectError(await b.get('/Auth/Login'), 405, 'METHOD_NOT_ALLOWED');
    expectError(await b.request('POST', '/HEALTHZ'), 405, 'METHOD_NOT_ALLOWED');
  });

  it('garbage cookies -> 401 UNAUTHENTICATED', async () => {
    const t = token(victim);
    const sig = victim.jar.get(`${SID}.sig`)!;
    // The genuine cookie was just verified, so its signature is remembered (security/keygrip.ts):
    // a tampered signature for the same token, or its signature on another token, must still fail.
    expect((await victim.get('/auth/me')).status).toBe(200);
    const flipped = (x: string, at: number) => x.slice(0, at) + (x[at] === 'A' ? 'B' : 'A') + x.slice(at + 1);
    const cookies = [
      `${SID}=${t}; ${SID}.sig=${flipped(sig, 0)}`,
      `${SID}=${t}; ${SID}.sig=${flipped(sig, sig.length - 1)}`,
      `${SID}=${t}; ${SID}.sig=${sig.slice(0, -1)}`,
      `${SID}=${flipped(t, 10)}; ${SID}.sig=${sig}`,
      `${SID}=%%%not-base64%%%; ${SID}.sig=%%%`,
      `${SID}=${'A'.repeat(4096)}; ${SID}.sig=${'B'.repeat(27)}`,
      `${SID}=; ${SID}.sig=`,
      `${SID}="${t}"; ${SID}.sig=x`,
      `${SID}=garbage; ${SID}=${t}; ${SID}.sig=${sig}`,
      `${SID}=garbage1; ${SID}=garbage2; ${SID}.sig=a; ${SID}.sig=b`,
      `${SID}.sig=${sig}`,
      `;;;=;${SID}`,
      '\u00e9\u00e9=\u00e9',
    ];
    for (const c of cookies) {
      const r = await meWith(app.url, c);
      expect({ c: c.slice(0, 60), status: r.status, code: r.body?.error?.code }).toEqual({ c: c.slice(0, 60), status: 401, code: 'UNAUTHENTICATED' });
    }
  });

  it('after the whole barrage, the earlier session still validates and the user can still log in', async () => {
    expect((await victim.get('/auth/me')).status).toBe(200);
    expect((await new Browser(app.url).login(victimEmail, PASSWORD)).status).toBe(200);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    // No 5xx was answered anywhere in this file.
    expect(app.logs()).not.toMatch(/"status":5\d\d/);
  });
});
