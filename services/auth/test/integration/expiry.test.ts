import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standalone } from '@session-auth/topology';
import { withRedis } from '../support/redis.js';
import type { TestApp } from '../support/app.js';
import type { Res } from '../support/client.js';
import { STORES, expectError, pollUntil, readMetric, signedIn, startOn } from './_helpers.js';
import { setTimeout as sleep } from 'node:timers/promises';

// Timing tests: each waits about a second or two for real time to pass, so they run concurrently.

let redis: Standalone;
beforeAll(async () => {
  redis = await withRedis();
});
afterAll(async () => {
  await redis?.stop();
});

interface Timed {
  res: Res;
  /** When the request was sent and answered (epoch ms). */
  sent: number;
  answered: number;
}

describe.concurrent.each(STORES)('idle and absolute timeouts, sliding renewal (%s store)', (store) => {
  const apps: TestApp[] = [];
  const start = async (env: Record<string, string>) => {
    const app = await startOn(store, redis.url, env);
    apps.push(app);
    return app;
  };
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
  });

  it('expires a session left alone for the idle timeout (SESSION_IDLE_TIMEOUT_SECONDS=2)', async () => {
    const app = await start({ SESSION_IDLE_TIMEOUT_SECONDS: '2', SESSION_TOUCH_INTERVAL_SECONDS: '1' });
    const { b, login } = await signedIn(app);
    const lastSeen = Date.parse(login.body.session.lastSeenAt);
    expect(Date.parse(login.body.session.idleExpiresAt)).toBe(lastSeen + 2000);
    // Within the touch interval a request reads the session without renewing it.
    await sleep(Math.max(0, lastSeen + 600 - Date.now()));
    const early = await b.get('/auth/me');
    expect(early.status).toBe(200);
    expect(early.body.session.lastSeenAt).toBe(login.body.session.lastSeenAt);
    // Then left alone past the idle timeout.
    await sleep(Math.max(0, lastSeen + 2000 - Date.now()));
    expectError(await b.get('/auth/me'), 401, 'UNAUTHENTICATED');
  });

  it('expires a session at the absolute timeout even while it is kept active', async () => {
    const app = await start({
      SESSION_IDLE_TIMEOUT_SECONDS: '2',
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: '3',
      SESSION_TOUCH_INTERVAL_SECONDS: '1',
    });
    const { b, login } = await signedIn(app);
    const created = Date.parse(login.body.session.createdAt);
    const absolute = Date.parse(login.body.session.absoluteExpiresAt);
    expect(absolute).toBe(created + 3000);
    const me = async (): Promise<Timed> => {
      const sent = Date.now();
      const res = await b.get('/auth/me');
      return { res, sent, answered: Date.now() };
    };
    const { value, tries } = await pollUntil(me, (t) => t.res.status !== 200, { everyMs: 150, timeoutMs: 5000 });
    expectError(value.res, 401, 'UNAUTHENTICATED');
    expect(value.answered).toBeGreaterThanOrEqual(absolute);
    expect(value.sent).toBeLessThan(absolute + 700);
    // Touching kept it alive past the idle timeout: some 200s came more than 2 s after creation.
    const lateOk = tries.filter((t) => t.res.status === 200 && t.answered > created + 2300);
    expect(lateOk.length).toBeGreaterThan(0);
    // The idle expiry it reports never passes the absolute one.
    for (const t of tries.filter((x) => x.res.status === 200)) {
      expect(Date.parse(t.res.body.session.idleExpiresAt)).toBeLessThanOrEqual(absolute);
    }
  });

  it('writes "last seen" back at most once per SESSION_TOUCH_INTERVAL_SECONDS', async () => {
    const app = await start({ SESSION_TOUCH_INTERVAL_SECONDS: '1' });
    const touches = () => readMetric(app, 'session_store_operation_duration_seconds_count', { op: 'touch', backend: store });
    const { b, login } = await signedIn(app);
    const t0 = Date.parse(login.body.session.lastSeenAt);
    const touches0 = await touches();

    const quick1 = await b.get('/auth/me');
    const quick2 = await b.get('/auth/me');
    expect(Date.now()).toBeLessThan(t0 + 1000); // still within the interval, or the test proves nothing
    expect(quick1.body.session.lastSeenAt).toBe(login.body.session.lastSeenAt);
    expect(quick2.body.session.lastSeenAt).toBe(login.body.session.lastSeenAt);
    expect(await touches()).toBe(touches0);

    const { value, tries } = await pollUntil(
      () => b.get('/auth/me'),
      (r) => r.body.session.lastSeenAt !== login.body.session.lastSeenAt,
      { everyMs: 100, timeoutMs: 3000 },
    );
    const t1 = Date.parse(value.body.session.lastSeenAt);
    expect(t1 - t0).toBeGreaterThanOrEqual(1000);
    expect(tries.length).toBeGreaterThanOrEqual(4);
    // Many requests, one write.
    expect(await touches()).toBe(touches0 + 1);
    const after = await b.get('/auth/me');
    expect(after.body.session.lastSeenAt).toBe(value.body.session.lastSeenAt);
    expect(Date.parse(after.body.session.idleExpiresAt)).toBe(t1 + app.config.session.idleTimeoutMs);
    expect(await touches()).toBe(touches0 + 1);
  });
});
