import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import type { Res } from '../support/client.js';
import { Browser, PASSWORD, expectError, readMetric, signedIn, startOn } from './_helpers.js';

// Real OWASP cost (19 MiB, t=2), one hash at a time, one waiting: a login storm must be shed with
// fast 503s while session validation (no argon2) keeps answering.

describe('argon2 concurrency bound (memory store, OWASP cost)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn('memory', undefined, {
      ARGON2_MEMORY_KIB: '19456',
      ARGON2_TIME_COST: '2',
      ARGON2_PARALLELISM: '1',
      ARGON2_MAX_CONCURRENCY: '1',
      ARGON2_MAX_QUEUE: '1',
      ARGON2_RUNNER: 'process',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('sheds a login storm with 503 BUSY + Retry-After, never a 500, while /auth/me keeps answering', async () => {
    const { b: watcher, email } = await signedIn(app);
    const busyBefore = await readMetric(app, 'auth_logins_total', { outcome: 'busy' });

    let settled = 0;
    const storm = Array.from({ length: 8 }, () =>
      new Browser(app.url).login(email, PASSWORD).then((r) => {
        settled++;
        return r;
      }),
    );
    // Validate the watcher's session over and over while the storm runs.
    const during: { status: number; whileStorming: boolean }[] = [];
    const all = Promise.all(storm);
    let done = false;
    void all.then(() => (done = true));
    while (!done) {
      const r = await watcher.get('/auth/me');
      during.push({ status: r.status, whileStorming: settled < storm.length });
      if (during.length > 200) break;
    }
    const results: Res[] = await all;

    const statuses = results.map((r) => r.status).sort();
    expect(statuses.every((s) => s === 200 || s === 503), JSON.stringify(statuses)).toBe(true);
    const busy = results.filter((r) => r.status === 503);
    const ok = results.filter((r) => r.status === 200);
    // One runs and one waits; the rest are refused at once.
    expect(ok.length).toBeGreaterThanOrEqual(2);
    expect(busy.length).toBeGreaterThanOrEqual(4);
    for (const r of busy) {
      expectError(r, 503, 'BUSY');
      expect(r.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(r.setCookies.filter((c) => /^sid=[^;]/.test(c))).toEqual([]);
    }
    expect(await readMetric(app, 'auth_logins_total', { outcome: 'busy' })).toBe(busyBefore + busy.length);
    expect(await readMetric(app, 'auth_logins_total', { outcome: 'error' })).toBe(0);


    // Validation was answered while logins were still hashing.
    expect(during.filter((d) => d.whileStorming).length).toBeGreaterThan(0);
    expect(during.every((d) => d.status === 200), JSON.stringify(during)).toBe(true);
    expect(await readMetric(app, 'auth_password_hash_queue_length')).toBe(0);
  });

  it('sheds registrations the same way', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => new Browser(app.url).register(`storm-${process.pid}-${Date.now()}-${i}@example.com`, PASSWORD)),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 503), JSON.stringify(statuses)).toBe(true);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    for (const r of results.filter((x) => x.status === 503)) expectError(r, 503, 'BUSY');
  });

  it('a login shed as BUSY gives back its account attempt (LOGIN_MAX_FAILURES_PER_ACCOUNT=5)', async () => {
    const { email } = await signedIn(app);
    const storm = await Promise.all(Array.from({ length: 8 }, () => new Browser(app.url).login(email, 'wrong password')));
    const verified = storm.filter((r) => r.status === 401).length;
    expect(storm.filter((r) => r.status === 503).length).toBe(8 - verified);
    expect(verified).toBeLessThan(5);
    // Only the attempts whose password was checked count: the rest of the limit is still there.
    for (let i = verified; i < 5; i++) expectError(await new Browser(app.url).login(email, 'wrong password'), 401, 'INVALID_CREDENTIALS');
    expectError(await new Browser(app.url).login(email, PASSWORD), 429, 'TOO_MANY_ATTEMPTS');
  });
});

describe('argon2 queue: registrations leave room for logins (ARGON2_MAX_CONCURRENCY=1, ARGON2_MAX_QUEUE=4)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn('memory', undefined, {
      ARGON2_MEMORY_KIB: '19456',
      ARGON2_TIME_COST: '2',
      ARGON2_MAX_CONCURRENCY: '1',
      ARGON2_MAX_QUEUE: '4',
      ARGON2_RUNNER: 'process',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a flood of registrations is shed with 503 BUSY while a login still gets its hash', async () => {
    const { email } = await signedIn(app);
    const busyBefore = await readMetric(app, 'auth_registrations_total', { outcome: 'busy' });
    const flood = Array.from({ length: 8 }, (_, i) => new Browser(app.url).register(`flood-${i}-${Date.now()}@example.com`, PASSWORD));
    const login = new Browser(app.url).login(email, PASSWORD);
    const [registered, loggedIn] = await Promise.all([Promise.all(flood), login]);
    expect(loggedIn.status).toBe(200);
    const busy = registered.filter((r) => r.status === 503);
    // One hashing, one waiting in its quarter of the queue; the rest refused at once.
    expect(registered.filter((r) => r.status === 201).length).toBe(2);
    expect(busy.length).toBe(6);
    for (const r of busy) expectError(r, 503, 'BUSY');
    expect(await readMetric(app, 'auth_registrations_total', { outcome: 'busy' })).toBe(busyBefore + 6);
  });
});
