import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standalone } from '@session-auth/topology';
import { withRedis } from '../support/redis.js';
import type { TestApp } from '../support/app.js';
import type { Res } from '../support/client.js';
import { Browser, PASSWORD, SID, expectError, pollUntil, signedIn, startOn, token, uniqueEmail } from './_helpers.js';

// One app on one Redis, through a hang (SIGSTOP), a crash (SIGKILL) and the recovery from each.

let redis: Standalone;
let app: TestApp;
beforeAll(async () => {
  redis = await withRedis();
  app = await startOn('redis', redis.url);
});
afterAll(async () => {
  await app?.close();
  await redis?.redis.resume().catch(() => {});
  await redis?.stop();
});

/** Runs a request and times it; a request still unanswered after 3 s fails the test instead of hanging it. */
async function timed(fn: () => Promise<Res>): Promise<Res & { ms: number }> {
  const start = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer within 3000 ms: the request hangs on the store')), 3000);
  });
  try {
    const r = await Promise.race([fn(), hang]);
    return { ...r, ms: Date.now() - start };
  } finally {
    clearTimeout(timer);
  }
}

const readyz = () => new Browser(app.url).get('/readyz');

/** /readyz's status, or 0 when it does not answer within 1.5 s (a hang counts as not ready). */
async function readyzStatusSoon(): Promise<number> {
  return Promise.race([readyz().then((r) => r.status), new Promise<number>((r) => setTimeout(() => r(0), 1500))]);
}

function expectUnavailable(r: Res): void {
  expectError(r, 503, 'STORE_UNAVAILABLE');
  expect(r.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
}

describe('session store outage (redis)', () => {
  // node-redis's command timeout bounds only the wait to be written; against a hung server the
  // service's own end-to-end deadline (redis/deadline.ts) is what keeps this a fast 503.
  it('a hung Redis (SIGSTOP): 503 STORE_UNAVAILABLE within the command timeout, not-ready, and a warn log without secrets', async () => {
    const { b, email } = await signedIn(app);
    const t = token(b);
    const logStart = app.logs().length;
    await redis.redis.pause();
    try {
      const me = await timed(() => b.get('/auth/me'));
      expectUnavailable(me);
      expect(app.config.redis.commandTimeoutMs).toBe(500);
      expect(me.ms).toBeLessThan(1500);
      const ready = await timed(readyz);
      expectError(ready, 503, 'NOT_READY');
      expect(ready.ms).toBeLessThan(1500);
      // Login and register fail the same clear way (no hang, no 500).
      const login = await timed(() => new Browser(app.url).login(email, PASSWORD));
      expectUnavailable(login);
      expect(login.ms).toBeLessThan(1500);
      const reg = await timed(() => new Browser(app.url).register(uniqueEmail(), PASSWORD));
      expectUnavailable(reg);
      expect(reg.ms).toBeLessThan(1500);
      // The account actions too: a fast 503, never a hang or a 500, and nothing half done.
      for (const act of [
        () => b.post('/auth/reauth', { password: PASSWORD }),
        () => b.post('/auth/password', { currentPassword: PASSWORD, newPassword: 'another good password' }),
        () => b.request('DELETE', '/auth/account', { json: { password: PASSWORD } }),
      ]) {
        const r = await timed(act);
        expectUnavailable(r);
        expect(r.ms).toBeLessThan(1500);
      }
      // Several at once are all bounded too.
      const many = await Promise.all(Array.from({ length: 5 }, () => timed(() => b.get('/auth/me'))));
      for (const r of many) {
        expectUnavailable(r);
        expect(r.ms).toBeLessThan(1500);
      }
      // The cookie is not cleared by an outage: it is still good once the store is back.
      expect(b.jar.get(SID)).toBe(t);
    } finally {
      await redis.redis.resume();
      await pollUntil(readyz, (r) => r.status === 200, { timeoutMs: 5000 });
    }
    // The outage was logged as a warning with its code, without the token or the password.
    const lines = app
      .logs()
      .slice(logStart)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.level === 'warn' && l.code === 'STORE_UNAVAILABLE').length).toBeGreaterThan(0);
    const text = app.logs().slice(logStart);
    expect(text).not.toContain(t);
    expect(text).not.toContain(PASSWORD);
  });

  it('after a hang (SIGSTOP, then SIGCONT) it recovers without a restart and nothing stored is lost', async () => {
    const { b, email } = await signedIn(app);
    await redis.redis.pause();
    let inFlight: Promise<Res[]>;
    try {
      // Requests made during the hang: whatever they get, it must not be a 5xx other than 503.
      inFlight = Promise.all([b.get('/auth/me'), readyz(), new Browser(app.url).login(email, PASSWORD)]);
      await expect(readyzStatusSoon()).resolves.not.toBe(200);
    } finally {
      await redis.redis.resume();
    }
    for (const r of await inFlight) expect([200, 503]).toContain(r.status);
    await pollUntil(readyz, (r) => r.status === 200, { timeoutMs: 5000 });
    const back = await b.get('/auth/me');
    expect(back.status).toBe(200);
    expect(back.body.user.email).toBe(email);
    expect((await new Browser(app.url).login(email, PASSWORD)).status).toBe(200);
    expect((await b.get('/auth/sessions')).body.sessions.length).toBeGreaterThanOrEqual(2);
  });

  it('a crashed Redis (SIGKILL): immediate 503s, then recovery by itself when Redis is back', async () => {
    const { b } = await signedIn(app);
    const t = token(b);
    const logStart = app.logs().length;
    await redis.redis.kill('SIGKILL');
    // The connection notices the socket closing: subsequent calls fail fast instead of waiting a timeout.
    const { value: me } = await pollUntil(
      () => timed(() => b.get('/auth/me')),
      (r) => r.status === 503 && r.ms < 200,
      { timeoutMs: 3000, everyMs: 20 },
    );
    expectUnavailable(me);
    expectError(await readyz(), 503, 'NOT_READY');
    const login = await timed(() => new Browser(app.url).login(uniqueEmail(), PASSWORD));
    expectUnavailable(login);
    expect(login.ms).toBeLessThan(500);

    // Each refused request left a warn line with its code, and no secret.
    const warned = app
      .logs()
      .slice(logStart)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.level === 'warn' && l.code === 'STORE_UNAVAILABLE');
    expect(warned.length).toBeGreaterThan(0);
    expect(JSON.stringify(warned[0])).toMatch(/"kind":"unavailable"/);
    expect(app.logs().slice(logStart)).not.toContain(t);
    expect(app.logs().slice(logStart)).not.toContain(PASSWORD);

    await redis.redis.start();
    const { elapsedMs } = await pollUntil(readyz, (r) => r.status === 200, { timeoutMs: 5000 });
    expect(elapsedMs).toBeLessThan(3000);
    // This test Redis has no persistence, so the old session is gone (401, not a 5xx); new work succeeds.
    expectError(await b.get('/auth/me'), 401, 'UNAUTHENTICATED');
    const { b: fresh } = await signedIn(app);
    expect((await fresh.get('/auth/me')).status).toBe(200);
  });
});
