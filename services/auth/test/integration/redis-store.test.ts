import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standalone } from '@session-auth/topology';
import { redisCommand, withRedis } from '../support/redis.js';
import type { TestApp } from '../support/app.js';
import { Browser, PASSWORD, SID, TEST_KEY, sign, signedIn, startOn, token, uniqueEmail } from './_helpers.js';

let redis: Standalone;
const apps: TestApp[] = [];
beforeAll(async () => {
  redis = await withRedis();
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await redis?.stop();
});

async function start(env: Record<string, string> = {}): Promise<TestApp> {
  const app = await startOn('redis', redis.url, env);
  apps.push(app);
  return app;
}

const cmd = (args: string[]) => redisCommand(redis.url, args);

/** Every key with the given prefix and a text rendering of its value, whatever its type. */
async function dump(prefix: string): Promise<Map<string, string>> {
  const keys = (await cmd(['KEYS', `${prefix}*`])) as string[];
  const out = new Map<string, string>();
  for (const k of keys) {
    const type = String(await cmd(['TYPE', k]));
    const read: Record<string, string[]> = {
      string: ['GET', k],
      hash: ['HGETALL', k],
      zset: ['ZRANGE', k, '0', '-1', 'WITHSCORES'],
      set: ['SMEMBERS', k],
      list: ['LRANGE', k, '0', '-1'],
    };
    const args = read[type];
    if (!args) throw new Error(`unexpected type ${type} for ${k}`);
    out.set(k, JSON.stringify(await cmd(args)));
  }
  return out;
}

describe('Redis store: what is at rest', () => {
  it('holds neither the token nor the cookie nor the password; the session key is 128 bits of sha256(token)', async () => {
    const prefix = `rest${process.pid}:`;
    const app = await start({ REDIS_KEY_PREFIX: prefix, LOGIN_MAX_FAILURES_PER_ACCOUNT: '10' });
    const { b, email, login } = await signedIn(app);
    await new Browser(app.url).login(email, 'a wrong password'); // a throttle counter exists too
    await b.get('/auth/me');
    await b.get('/auth/sessions');
    const t = token(b);
    const sig = b.jar.get(`${SID}.sig`)!;
    const id = createHash('sha256').update(t).digest().subarray(0, 16).toString('base64url');

    const data = await dump(prefix);
    const userId = login.body.user.id as string;
    expect([...data.keys()].sort()).toEqual(
      [
        `${prefix}email:${email}`,
        `${prefix}s:${id}`,
        `${prefix}th:acct:${email}`,
        `${prefix}th:acip:${email}:127.0.0.1`,
        `${prefix}th:ip:127.0.0.1`,
        `${prefix}u:${userId}:s`,
        `${prefix}user:${userId}`,
      ].sort(),
    );
    const secrets = { token: t, sig, csrf: login.body.csrfToken as string, password: PASSWORD };
    for (const [key, value] of data) {
      for (const [what, secret] of Object.entries(secrets)) {
        expect(key.includes(secret), `${what} in key ${key}`).toBe(false);
        expect(value.includes(secret), `${what} in value of ${key}`).toBe(false);
      }
    }
    // The session index holds the hash, and the stored hash is argon2id.
    expect(data.get(`${prefix}u:${userId}:s`)).toContain(id);
    expect(data.get(`${prefix}user:${userId}`)).toContain('$argon2id$');
    // The session key lives no longer than the idle timeout.
    const pttl = Number(await cmd(['PTTL', `${prefix}s:${id}`]));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(app.config.session.idleTimeoutMs);
    // Logout removes it and its index entry.
    expect((await b.post('/auth/logout')).status).toBe(204);
    expect(await cmd(['EXISTS', `${prefix}s:${id}`])).toBe(0);
    expect(await cmd(['ZSCORE', `${prefix}u:${userId}:s`, id])).toBeNull();
  });
});

/** The m, t, p parameters of a PHC-format argon2id hash (the library orders them alphabetically). */
function argonParams(hash: string): Record<string, number> {
  const m = /^\$argon2id\$v=19\$([^$]+)\$/.exec(hash);
  if (!m) throw new Error(`not an argon2id hash: ${hash.slice(0, 30)}`);
  return Object.fromEntries(m[1]!.split(',').map((kv) => [kv.split('=')[0]!, Number(kv.split('=')[1])]));
}

describe('Redis store: apps sharing one Redis', () => {
  it('upgrades a password hash to the current argon2 parameters on login', async () => {
    const prefix = `rehash${process.pid}:`;
    const cheap = await start({ REDIS_KEY_PREFIX: prefix, ARGON2_TIME_COST: '1' });
    const email = uniqueEmail();
    const reg = await new Browser(cheap.url).register(email, PASSWORD);
    expect(reg.status).toBe(201);
    const key = `${prefix}user:${reg.body.user.id}`;
    const before = String(await cmd(['HGET', key, 'hash']));
    expect(argonParams(before)).toEqual({ m: 1024, t: 1, p: 1 });

    const current = await start({ REDIS_KEY_PREFIX: prefix, ARGON2_TIME_COST: '2' });
    // A wrong password must not rehash anything.
    expect((await new Browser(current.url).login(email, 'not the password')).status).toBe(401);
    expect(String(await cmd(['HGET', key, 'hash']))).toBe(before);
    expect((await new Browser(current.url).login(email, PASSWORD)).status).toBe(200);
    const after = String(await cmd(['HGET', key, 'hash']));
    expect(after).toContain('t=2');
    expect(argonParams(after)).toEqual({ m: 1024, t: 2, p: 1 });
    // The upgraded hash still verifies, and a second login does not rehash again.
    expect((await new Browser(current.url).login(email, PASSWORD)).status).toBe(200);
    expect(String(await cmd(['HGET', key, 'hash']))).toBe(after);
  });

  it('a session made by an app signing with the old key is valid on an app with SESSION_KEYS="new,old"', async () => {
    const prefix = `rotate${process.pid}:`;
    const NEW_KEY = 'rotated-in-key-0123456789-0123456789-012';
    const before = await start({ REDIS_KEY_PREFIX: prefix, SESSION_KEYS: TEST_KEY });
    const after = await start({ REDIS_KEY_PREFIX: prefix, SESSION_KEYS: `${NEW_KEY},${TEST_KEY}` });
    const { b } = await signedIn(before);
    const t = token(b);
    expect(b.jar.get(`${SID}.sig`)).toBe(sign(SID, t, TEST_KEY));

    const moved = new Browser(after.url);
    for (const [k, v] of b.jar) moved.jar.set(k, v);
    moved.csrf = b.csrf;
    const me = await moved.get('/auth/me');
    expect(me.status).toBe(200);
    expect(moved.jar.get(`${SID}.sig`)).toBe(sign(SID, t, NEW_KEY));
    // Once more with the old-key signature, now remembered as verified: still re-signed.
    const again = new Browser(after.url);
    for (const [k, v] of b.jar) again.jar.set(k, v);
    expect((await again.get('/auth/me')).status).toBe(200);
    expect(again.jar.get(`${SID}.sig`)).toBe(sign(SID, t, NEW_KEY));
    // A CSRF token issued under the old key is still accepted after the rotation.
    expect((await moved.request('POST', '/auth/logout', { headers: { 'x-csrf-token': b.csrf! } })).status).toBe(204);
    expect((await b.get('/auth/me')).status).toBe(401);
  });
});
