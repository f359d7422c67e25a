import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standalone } from '@session-auth/topology';
import { withRedis } from '../support/redis.js';
import type { TestApp } from '../support/app.js';
import { Browser, PASSWORD, STORES, expectError, readMetric, startOn, uniqueEmail } from './_helpers.js';
import { createStandaloneConnection, type RedisConnection } from '../../src/redis/connection.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { DeviceCookies } from '../../src/security/device-cookie.js';
import { MemoryLoginThrottle, RedisLoginThrottle, backoffDelayMs, type LoginThrottle, type ThrottleLimits } from '../../src/security/throttle.js';

let redis: Standalone;
beforeAll(async () => {
  redis = await withRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.each(STORES)('lockout without denial of service, over HTTP (%s store)', (store) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn(store, redis.url, {
      TRUST_PROXY: 'true',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '6',
      LOGIN_MAX_FAILURES_PER_ACCOUNT_IP: '2',
      LOGIN_MAX_FAILURES_PER_DEVICE: '4',
      LOGIN_BACKOFF_MAX_SECONDS: '600',
    });
  });
  afterAll(async () => {
    await app?.close();
  });
  const from = (ip: string, device?: Browser) => {
    const b = new Browser(app.url, { 'x-forwarded-for': ip });
    if (device) for (const [k, v] of device.jar) if (k === 'device') b.jar.set(k, v);
    return b;
  };

  it('guesses from many IPs stop at the account ceiling, while the known browser logs in throughout', async () => {
    const email = uniqueEmail('victim');
    const user = from('198.51.100.7');
    expect((await user.register(email, PASSWORD)).status).toBe(201);
    expect((await user.login(email, PASSWORD)).status).toBe(200);
    expect(user.jar.has('device')).toBe(true);

    // 40 attacker IPs, 3 guesses each: at most 2 per IP are checked, and 6 in all.
    const outcomes: number[] = [];
    for (let ip = 1; ip <= 40; ip++) {
      for (let g = 0; g < 3; g++) outcomes.push((await from(`203.0.113.${ip}`).login(email, `guess ${ip}-${g}`)).status);
    }
    expect(outcomes.filter((s) => s === 401)).toHaveLength(6);
    expect(outcomes.filter((s) => s === 429)).toHaveLength(outcomes.length - 6);
    expect(await readMetric(app, 'auth_login_throttled_total', { scope: 'account' })).toBeGreaterThan(0);

    // The real user, from the browser that logged in before: not slowed at all.
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const r = await from('198.51.100.7', user).login(email, PASSWORD);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(Date.now() - t0).toBeLessThan(1000);
    }
    // The same user on a browser without the cookie shares the attacked ceiling: told when to retry.
    const fresh = await from('198.51.100.99').login(email, PASSWORD);
    expectError(fresh, 429, 'TOO_MANY_ATTEMPTS');
    expect(Number(fresh.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('a device cookie counts only for its own account and only when its MAC verifies', async () => {
    const a = uniqueEmail('a');
    const b = uniqueEmail('b');
    const owner = from('198.51.100.8');
    for (const e of [a, b]) expect((await owner.register(e, PASSWORD)).status).toBe(201);
    expect((await owner.login(a, PASSWORD)).status).toBe(200);
    // Spend b's ceiling from elsewhere; a's device cookie must not open b.
    for (let ip = 1; ip <= 6; ip++) await from(`192.0.2.${ip}`).login(b, 'wrong password');
    expectError(await from('198.51.100.8', owner).login(b, PASSWORD), 429, 'TOO_MANY_ATTEMPTS');
    const forged = from('198.51.100.8');
    forged.jar.set('device', `${'A'.repeat(22)}.${Date.now().toString(36)}.${'B'.repeat(22)}`);
    expectError(await forged.login(b, PASSWORD), 429, 'TOO_MANY_ATTEMPTS');
  });

  it('the device has a budget of its own: wrong guesses from it are slowed, not the account', async () => {
    const email = uniqueEmail('dev');
    const user = from('198.51.100.9');
    expect((await user.register(email, PASSWORD)).status).toBe(201);
    expect((await user.login(email, PASSWORD)).status).toBe(200);
    for (let i = 0; i < 4; i++) expectError(await from('198.51.100.9', user).login(email, 'typo'), 401, 'INVALID_CREDENTIALS');
    const slowed = await from('198.51.100.9', user).login(email, PASSWORD);
    expectError(slowed, 429, 'TOO_MANY_ATTEMPTS');
    expect(slowed.headers.get('retry-after')).toBe('1');
    // Other clients are unaffected by the device's own failures.
    expect((await from('198.51.100.10').login(email, PASSWORD)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await from('198.51.100.9', user).login(email, PASSWORD)).status).toBe(200);
  });
});

describe('growing delays', () => {
  it('double from 1 s after the budget, up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((c) => backoffDelayMs(c, 3, 5000))).toEqual([0, 0, 1000, 2000, 4000, 5000, 5000]);
  });
});

/**
 * The measurement the issue asks for, on the real Redis scripts with a simulated clock: one hour
 * of an attacker with 10,000 IPs guessing one account as fast as the throttle lets it (it honours
 * Retry-After exactly, and never waits otherwise), while the real user logs in every 5 minutes
 * from the browser it used before. Bounded: a few hundred script calls.
 */
describe('measured: one hour of guessing one account from many IPs (default limits)', () => {
  const limits: ThrottleLimits = {
    windowMs: 900_000,
    maxFailuresPerAccount: 20,
    maxFailuresPerAccountIp: 5,
    maxFailuresPerDevice: 10,
    backoffMaxMs: 900_000,
    maxAttemptsPerIp: 100,
  };
  let conn: RedisConnection;
  beforeAll(async () => {
    conn = createStandaloneConnection(
      { url: redis.url, password: undefined, commandTimeoutMs: 2000, connectTimeoutMs: 1000, waitReplicas: 0, waitTimeoutMs: 250 },
      createLogger('silent'),
      createMetrics({ defaultMetrics: false }),
    );
    await conn.ready;
  });
  afterAll(async () => {
    await conn?.close();
  });

  async function simulate(make: (now: () => number) => LoginThrottle) {
    let now = 1_800_000_000_000;
    const t0 = now;
    const throttle = make(() => now);
    const account = uniqueEmail('sim');
    const devices = new DeviceCookies(['k'.repeat(32)], 180 * 86_400_000, () => now);
    const device = devices.verify(devices.issue(account), account)!;
    const guessesPerHour = [0, 0];
    let attempts = 0;
    let nextAttack = now;
    let nextUser = now + 60_000;
    let userOk = 0;
    let userTries = 0;
    // The same user on a new browser (no device cookie) at 30 min, retrying as Retry-After says.
    let nextNewBrowser: number | undefined = t0 + 1_800_000;
    let newBrowserWaitMs: number | undefined;
    let ip = 0;
    const end = t0 + 7_200_000;
    for (;;) {
      const t = Math.min(nextAttack, nextUser, nextNewBrowser ?? Infinity);
      if (t >= end) break;
      now = t;
      if (t === nextUser) {
        userTries++;
        const d = await throttle.check(account, { ip: '198.51.100.1', device });
        if (d.allowed) {
          userOk++;
          await throttle.reset(account, { ip: '198.51.100.1', device });
        }
        nextUser += 300_000;
      } else if (t === nextNewBrowser) {
        const d = await throttle.check(account, { ip: '198.51.100.2' });
        if (d.allowed) {
          newBrowserWaitMs = now - (t0 + 1_800_000);
          await throttle.reset(account, { ip: '198.51.100.2' });
          nextNewBrowser = undefined;
        } else {
          nextNewBrowser = now + d.retryAfterMs;
        }
      } else {
        attempts++;
        // A new IP for every guess: the per-IP limits never bind, only the account's do.
        const d = await throttle.check(account, { ip: `10.${(ip >> 16) & 255}.${(ip >> 8) & 255}.${ip++ & 255}` });
        if (d.allowed) {
          guessesPerHour[now - t0 < 3_600_000 ? 0 : 1]!++;
          nextAttack = now + 10; // 100 guesses a second while it is let through
        } else {
          nextAttack = now + d.retryAfterMs;
        }
      }
    }
    return { guessesPerHour, attempts, userOk, userTries, newBrowserWaitMs };
  }

  it.each(['redis', 'memory'] as const)('%s: tens of guesses in the first hour, a few after, and every login of the real user goes through', async (kind) => {
    const r = await simulate((now) =>
      kind === 'redis' ? new RedisLoginThrottle(conn, `sim${process.pid}${kind}:`, limits, now) : new MemoryLoginThrottle(limits, now),
    );
    console.log(
      `[lockout ${kind}] attacker, a new IP per guess: ${r.guessesPerHour[0]} passwords checked in hour 1, ${r.guessesPerHour[1]} in hour 2 ` +
        `(${r.attempts} requests); real user on a known device: ${r.userOk}/${r.userTries} logins let through at once; ` +
        `on a new browser: let through after ${Math.round((r.newBrowserWaitMs ?? NaN) / 1000)} s`,
    );
    // 20 free, then 1 s, 2 s, ... 512 s (10 more in ~17 min), then one per 15 min.
    expect(r.guessesPerHour[0]).toBeGreaterThanOrEqual(20);
    expect(r.guessesPerHour[0]).toBeLessThanOrEqual(35);
    expect(r.guessesPerHour[1]).toBeLessThanOrEqual(5);
    expect(r.userOk).toBe(r.userTries);
    expect(r.userTries).toBe(24);
    // Without the cookie the user shares the attacked ceiling: let in, but after at most one longest delay.
    expect(r.newBrowserWaitMs).toBeDefined();
    expect(r.newBrowserWaitMs!).toBeLessThanOrEqual(limits.backoffMaxMs);
  });
});
