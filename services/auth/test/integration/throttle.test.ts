import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standalone } from '@session-auth/topology';
import { withRedis } from '../support/redis.js';
import type { TestApp } from '../support/app.js';
import type { Res } from '../support/client.js';
import { Browser, PASSWORD, STORES, expectError, readMetric, startOn, uniqueEmail } from './_helpers.js';
import { createStandaloneConnection } from '../../src/redis/connection.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { MemoryLoginThrottle, RedisLoginThrottle } from '../../src/security/throttle.js';

let redis: Standalone;
beforeAll(async () => {
  redis = await withRedis();
});
afterAll(async () => {
  await redis?.stop();
});

function expectThrottled(r: Res, windowSeconds: number): void {
  expectError(r, 429, 'TOO_MANY_ATTEMPTS');
  const retry = r.headers.get('retry-after');
  expect(retry).toMatch(/^\d+$/);
  expect(Number(retry)).toBeGreaterThan(0);
  expect(Number(retry)).toBeLessThanOrEqual(windowSeconds);
}

describe.each(STORES)('login throttling (%s store)', (store) => {
  describe('per account: LOGIN_MAX_FAILURES_PER_ACCOUNT=3', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startOn(store, redis.url, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' });
    });
    afterAll(async () => {
      await app?.close();
    });

    const register = async () => {
      const email = uniqueEmail();
      expect((await new Browser(app.url).register(email, PASSWORD)).status).toBe(201);
      return email;
    };
    const login = (email: string, password: string) => new Browser(app.url).login(email, password);

    it('after 3 failures even the right password gets 429 with Retry-After, and no session', async () => {
      const email = await register();
      for (let i = 0; i < 3; i++) expectError(await login(email, 'wrong password'), 401, 'INVALID_CREDENTIALS');
      const throttledBefore = await readMetric(app, 'auth_logins_total', { outcome: 'throttled' });
      const verifiesBefore = await readMetric(app, 'auth_password_hash_duration_seconds_count', { op: 'verify' });
      const r = await login(email, PASSWORD);
      expectThrottled(r, 900);
      expect(r.setCookies.filter((c) => /^sid=[^;]/.test(c))).toEqual([]);
      expect(await readMetric(app, 'auth_logins_total', { outcome: 'throttled' })).toBe(throttledBefore + 1);
      // A throttled attempt is refused before any argon2 work.
      expect(await readMetric(app, 'auth_password_hash_duration_seconds_count', { op: 'verify' })).toBe(verifiesBefore);
      expectThrottled(await login(email.toUpperCase(), PASSWORD), 900);
      // Other accounts from the same client are unaffected.
      expect((await login(await register(), PASSWORD)).status).toBe(200);
    });

    it('a successful login clears the client\'s failures and does not count, but the account ceiling keeps the failures', async () => {
      const email = await register();
      for (let i = 0; i < 2; i++) expectError(await login(email, 'wrong password'), 401, 'INVALID_CREDENTIALS');
      // The success takes its own attempt back: 2 failures counted, not 3, so no delay yet.
      expect((await login(email, PASSWORD)).status).toBe(200);
      expect((await login(email, PASSWORD)).status).toBe(200);
      // It did not wipe the 2 failures (they could be guesses from elsewhere): the third is the last free one.
      expectError(await login(email, 'wrong password'), 401, 'INVALID_CREDENTIALS');
      expectThrottled(await login(email, PASSWORD), 900);
    });

    it('a burst of parallel guesses gets no more tries than the limit (attempts count before argon2)', async () => {
      const email = await register();
      const results = await Promise.all(Array.from({ length: 12 }, () => login(email, 'wrong password')));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((st) => st === 401)).toHaveLength(3);
      expect(statuses.filter((st) => st === 429)).toHaveLength(9);
    });

    it('counts failures against unknown accounts too', async () => {
      const ghost = uniqueEmail('ghost');
      for (let i = 0; i < 3; i++) expectError(await login(ghost, PASSWORD), 401, 'INVALID_CREDENTIALS');
      expectThrottled(await login(ghost, PASSWORD), 900);
    });
  });

  describe('per IP: LOGIN_MAX_ATTEMPTS_PER_IP=5 behind a trusted proxy', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startOn(store, redis.url, {
        LOGIN_MAX_ATTEMPTS_PER_IP: '5',
        LOGIN_THROTTLE_WINDOW_SECONDS: '60',
        TRUST_PROXY: 'true',
      });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('counts each client IP separately (X-Forwarded-For), successes included', async () => {
      const email = uniqueEmail();
      const setup = new Browser(app.url, { 'x-forwarded-for': '198.51.100.200' });
      expect((await setup.register(email, PASSWORD)).status).toBe(201);
      const from = (ip: string) => new Browser(app.url, { 'x-forwarded-for': ip });

      // Client A: five attempts on five different accounts (so no account limit is involved).
      for (let i = 0; i < 5; i++) expectError(await from('203.0.113.10').login(uniqueEmail(), 'x-password'), 401, 'INVALID_CREDENTIALS');
      expectThrottled(await from('203.0.113.10').login(email, PASSWORD), 60);
      // Client B is not affected by A's attempts, even for the same account.
      const b = from('203.0.113.20');
      expect((await b.login(email, PASSWORD)).status).toBe(200);
      expect((await b.get('/auth/sessions')).body.sessions.at(-1).ip).toBe('203.0.113.20');
      // Successful logins count against the IP too.
      for (let i = 0; i < 4; i++) expect((await from('203.0.113.20').login(email, PASSWORD)).status).toBe(200);
      expectThrottled(await from('203.0.113.20').login(email, PASSWORD), 60);
      // A third client still gets through; an IPv6 client is its own bucket.
      expect((await from('203.0.113.30').login(email, PASSWORD)).status).toBe(200);
      expect((await from('2001:db8::1').login(email, PASSWORD)).status).toBe(200);
    });

    it('counts registrations against the client IP too (each costs an argon2 hash)', async () => {
      const from = (ip: string) => new Browser(app.url, { 'x-forwarded-for': ip });
      for (let i = 0; i < 5; i++) expect((await from('203.0.113.40').register(uniqueEmail(), PASSWORD)).status).toBe(201);
      const before = await readMetric(app, 'auth_registrations_total', { outcome: 'throttled' });
      expectThrottled(await from('203.0.113.40').register(uniqueEmail(), PASSWORD), 60);
      expect(await readMetric(app, 'auth_registrations_total', { outcome: 'throttled' })).toBe(before + 1);
      expect((await from('203.0.113.41').register(uniqueEmail(), PASSWORD)).status).toBe(201);
    });

    it('takes the client IP from the last hop, so a spoofed leftmost X-Forwarded-For does not dodge the limit', async () => {
      const email = uniqueEmail();
      expect((await new Browser(app.url, { 'x-forwarded-for': '198.51.100.201' }).register(email, PASSWORD)).status).toBe(201);
      const spoof = (i: number) => new Browser(app.url, { 'x-forwarded-for': `10.0.0.${i}, 203.0.113.77` });
      for (let i = 0; i < 5; i++) expect((await spoof(i).login(email, PASSWORD)).status).toBe(200);
      expectThrottled(await spoof(99).login(email, PASSWORD), 60);
    });
  });
});

describe('throttle refund (Redis and memory, directly)', () => {
  const limits = {
    windowMs: 60_000,
    maxFailuresPerAccount: 2,
    maxFailuresPerAccountIp: 2,
    maxFailuresPerDevice: 2,
    backoffMaxMs: 60_000,
    maxAttemptsPerIp: 1000,
  };
  it.each(['memory', 'redis'] as const)('%s: a refunded attempt frees its place and its delay; a refund never goes below zero', async (kind) => {
    const conn =
      kind === 'redis'
        ? createStandaloneConnection(
            { url: redis.url, password: undefined, commandTimeoutMs: 500, connectTimeoutMs: 1000, waitReplicas: 0, waitTimeoutMs: 250 },
            createLogger('silent'),
            createMetrics({ defaultMetrics: false }),
          )
        : undefined;
    await conn?.ready;
    const t = conn ? new RedisLoginThrottle(conn, `refund${process.pid}:`, limits) : new MemoryLoginThrottle(limits);
    const client = { ip: '192.0.2.1' };
    try {
      const account = uniqueEmail();
      await t.refund(account, client); // nothing to give back: no negative credit
      expect((await t.check(account, client)).allowed).toBe(true);
      expect((await t.check(account, client)).allowed).toBe(true);
      // The budget is spent: the next attempt waits (a refused one is not counted).
      expect(await t.check(account, client)).toMatchObject({ allowed: false, scope: 'account_ip' });
      await t.refund(account, client);
      expect((await t.check(account, client)).allowed).toBe(true);
      expect((await t.check(account, client)).allowed).toBe(false);
      await t.refund(account, client);
      await t.refund(account, client);
      await t.refund(account, client);
      expect((await t.check(account, client)).allowed).toBe(true);
      expect((await t.check(account, client)).allowed).toBe(true);
      expect((await t.check(account, client)).allowed).toBe(false);
    } finally {
      await conn?.close();
    }
  });
});
