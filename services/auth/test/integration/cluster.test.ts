import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command, startClusterTopology, type ClusterTopology, type RedisProcess } from '@session-auth/topology';
import { startApp, waitReady, type TestApp } from '../support/app.js';
import { Browser, PASSWORD, SID, TEST_KEY, expectError, meWith, pollUntil, readMetric, sign, signedIn, token, uniqueEmail } from './_helpers.js';
import { keySlot } from '../../src/redis/slot-tag.js';
import { leadingTag } from '../../src/hash-tag.js';
import { sessionIdFromToken } from '../../src/sessions/token.js';

const PREFIX = 'cl:';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The session token inside koa-session's cookie value. */
function sessionToken(b: Browser): string {
  return decodeURIComponent(token(b));
}

/**
 * The real app on SESSION_STORE=cluster against a real 3-primary, 1-replica-each Redis Cluster:
 * what only a cluster can break (keys of one user in different slots, the throttle's IP counter
 * apart from the account's, one shard failing over while the others serve).
 */
describe.sequential('SESSION_STORE=cluster (3 primaries x 1 replica)', () => {
  let topo: ClusterTopology;
  let app: TestApp;

  beforeAll(async () => {
    topo = await startClusterTopology();
    app = await startApp({
      SESSION_STORE: 'cluster',
      REDIS_CLUSTER_NODES: topo.addresses.map((a) => `${a.host}:${a.port}`).join(','),
      REDIS_KEY_PREFIX: PREFIX,
      LOGIN_MAX_ATTEMPTS_PER_IP: '10000',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
    });
    await waitReady(app, 15_000);
  });
  afterAll(async () => {
    await app?.close();
    await topo?.stop();
  });

  it('keeps every key of a user in one slot, and the token says which', async () => {
    const { b, email, login } = await signedIn(app);
    const userId: string = login.body.user.id;
    const tag = leadingTag(userId);
    expect(tag).toMatch(/^[A-Za-z0-9_-]{4}$/);
    const t = sessionToken(b);
    expect(t).toMatch(new RegExp(`^${tag}\\.[A-Za-z0-9_-]{43}$`));
    const sid = sessionIdFromToken(t);
    const keys = [`${PREFIX}user:${userId}`, `${PREFIX}email:{${tag}}${email}`, `${PREFIX}u:${userId}:s`, `${PREFIX}s:${sid}`];
    expect(new Set(keys.map(keySlot)).size).toBe(1);
    const primary = await topo.primaryOf(keySlot(keys[0]!));
    // One EXISTS over all four: Redis itself refuses keys of different slots (CROSSSLOT).
    expect(await command(primary, ['EXISTS', ...keys])).toBe(4);
    // The slot we compute is the one the server computes (an unclosed brace and an empty tag too).
    for (const k of [...keys, 'x{y', 'foo{}{bar}']) expect(await command(primary, ['CLUSTER', 'KEYSLOT', k])).toBe(keySlot(k));
  });

  it('a token with another tag reads nothing (401), and a session id whose tag is not its user\'s cannot be created (CROSSSLOT)', async () => {
    const a = await signedIn(app);
    const b = await signedIn(app);
    const tagA = leadingTag(a.login.body.user.id)!;
    const tagB = leadingTag(b.login.body.user.id)!;
    const rand = sessionToken(a.b).slice(tagA.length + 1);
    // Correctly signed cookies (the test knows the key), so only the tag is wrong.
    const forged = (t: string) => `${SID}=${t}; ${SID}.sig=${sign(SID, t, TEST_KEY)}`;
    for (const tag of [tagB, tagA === 'zzzz' ? 'yyyy' : 'zzzz']) {
      expectError(await meWith(app.url, forged(`${tag}.${rand}`)), 401, 'UNAUTHENTICATED');
    }
    expect((await meWith(app.url, forged(`${tagA}.${rand}`))).status).toBe(200);
    // Below HTTP: a session for user A under user B's tag spans two slots in one script.
    await expect(
      app.deps.sessions.create(`${tagB}.${rand.slice(0, 42)}x`, { id: a.login.body.user.id, email: a.email }, { ip: '127.0.0.1', userAgent: 'test' }),
    ).rejects.toThrow(/CROSSSLOT/);
  });

  it('runs the account lifecycle: sessions listed, logout-all, password change, delete', async () => {
    const { b, email } = await signedIn(app);
    const other = new Browser(app.url);
    expect((await other.login(email, PASSWORD)).status).toBe(200);
    expect((await b.get('/auth/sessions')).body.sessions).toHaveLength(2);
    expect((await b.post('/auth/logout-all', { keepCurrent: true })).status).toBe(200);
    expectError(await other.get('/auth/me'), 401, 'UNAUTHENTICATED');
    const changed = await b.post('/auth/password', { currentPassword: PASSWORD, newPassword: 'another long passphrase' });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect((await b.get('/auth/me')).status).toBe(200);
    const del = await b.request('DELETE', '/auth/account', { json: { password: 'another long passphrase' } });
    expect(del.status, JSON.stringify(del.body)).toBe(204);
    expect((await new Browser(app.url).register(email, PASSWORD)).status).toBe(201);
  });

  it('throttles per account (keys in the account slot) and per IP (a key elsewhere) together', async () => {
    const email = uniqueEmail();
    expect((await new Browser(app.url).register(email, PASSWORD)).status).toBe(201);
    for (let i = 0; i < 3; i++) expectError(await new Browser(app.url).login(email, 'wrong password'), 401, 'INVALID_CREDENTIALS');
    expectError(await new Browser(app.url).login(email, PASSWORD), 429, 'TOO_MANY_ATTEMPTS');
    expect((await signedIn(app)).login.status).toBe(200);
  });

  it('one shard failing over: other shards serve on, its sessions stay readable, its writes fail fast then return', async () => {
    // Two users on different shards.
    const users: { b: Browser; primary: RedisProcess }[] = [];
    while (users.length < 2) {
      const { b, login } = await signedIn(app);
      const primary = await topo.primaryOf(keySlot(`{${leadingTag(login.body.user.id)}}`));
      if (!users.some((u) => u.primary === primary)) users.push({ b, primary });
    }
    const [hit, spared] = users as [(typeof users)[0], (typeof users)[0]];
    await hit.primary.kill();
    const killedAt = Date.now();

    // Until the replica is promoted: the other shard's user is untouched; the hit shard's
    // sessions still validate (from its replica); its durable writes fail with a fast 503.
    expect((await spared.b.get('/auth/me')).status).toBe(200);
    expect((await hit.b.get('/auth/me')).status).toBe(200);
    const t0 = Date.now();
    const write = await hit.b.post('/auth/logout-all', { keepCurrent: true });
    expect(write.status).toBe(503);
    expect(Date.now() - t0).toBeLessThan(1000);

    await topo.waitForNewPrimary(hit.primary.port, 15_000);
    // The promoted replica has no replica of its own until the old primary returns: WAIT 1
    // cannot be met, so durable writes stay refused (503) rather than unconfirmed.
    await hit.primary.start();
    await topo.waitHealthy(20_000);
    let status = 0;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      status = (await hit.b.post('/auth/logout-all', { keepCurrent: true })).status;
      if (status === 200) break;
      await sleep(100);
    }
    expect(status).toBe(200);
    // The promotion counts as a primary change (RedisFailoverHappened), as a Sentinel switch does.
    await pollUntil(() => readMetric(app, 'session_store_primary_changes_total'), (n) => n >= 1, { timeoutMs: 10_000 });
    expect((await hit.b.get('/auth/me')).status).toBe(200);
    expect((await spared.b.get('/auth/me')).status).toBe(200);
    console.log(`cluster: shard failover, durable writes back ${Date.now() - killedAt} ms after kill -9 (old primary restarted)`);
  });

  it('serves through a live slot migration (ASK, then MOVED) with no failed request', async () => {
    const { b, login } = await signedIn(app);
    const slot = keySlot(`{${leadingTag(login.body.user.id)}}`);
    const from = await topo.primaryOf(slot);
    const to = (await topo.shards()).find((s) => s.primary !== from)!.primary;
    let failed = 0;
    let done = false;
    const load = (async () => {
      let n = 0;
      while (!done) {
        const r = await b.get('/auth/me');
        if (r.status !== 200) failed++;
        if (++n % 5 === 0 && (await b.post('/auth/logout-all', { keepCurrent: true })).status !== 200) failed++;
      }
      return n;
    })();
    // Move this user's slot while it is in use, a few keys at a time so requests meet it half-moved.
    await sleep(100);
    expect(await topo.moveSlots(from, to, [slot], { keysPerBatch: 1 })).toEqual([slot]);
    await sleep(200);
    done = true;
    const requests = await load;
    expect(await topo.primaryOf(slot)).toBe(to);
    expect(failed).toBe(0);
    expect(requests).toBeGreaterThan(10);
  });

  it('reports the slots of a shard left without any primary (RedisClusterSlotsWithoutPrimary), and 0 once it is back', async () => {
    const slotsWithoutPrimary = () => readMetric(app, 'session_store_cluster_slots_without_primary');
    await pollUntil(slotsWithoutPrimary, (n) => n === 0, { timeoutMs: 10_000 });
    // A primary and its only replica gone: nobody can be promoted, its slots stay uncovered.
    const shard = (await topo.shards())[0]!;
    await Promise.all([shard.primary.kill(), ...shard.replicas.map((r) => r.kill())]);
    const served = shard.slots.reduce((n, [a, b]) => n + b - a + 1, 0);
    const { value } = await pollUntil(slotsWithoutPrimary, (n) => n > 0, { timeoutMs: 15_000, everyMs: 200 });
    expect(value).toBe(served);
    await Promise.all([shard.primary.start(), ...shard.replicas.map((r) => r.start())]);
    await topo.waitHealthy(30_000);
    await pollUntil(slotsWithoutPrimary, (n) => n === 0, { timeoutMs: 10_000, everyMs: 200 });
  });
});
