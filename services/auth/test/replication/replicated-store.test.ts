import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { startStandalone, type Standalone } from '@session-auth/topology';
import { ReplicatedSessionStore } from '../../src/sessions/replicated-store.js';
import type { SessionRecord } from '../../src/sessions/types.js';
import { StoreError } from '../../src/errors.js';
import { redisCommand } from '../support/redis.js';

/**
 * Two (and three) replicated stores on one real Redis: propagation, catch-up at start, gap
 * detection and resync, and a Redis kill -9 and restart (AOF on).
 */
const NS = 'sa:v1:replication';
const OPTS = { idleTimeoutMs: 600_000, maxPerUser: 10 };
const BOUND_MS = 2000;
const id = () => randomBytes(32).toString('base64url').slice(0, 43);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function record(userId: string): SessionRecord {
  const now = Date.now();
  return {
    userId,
    email: `${userId}@example.com`,
    handle: randomBytes(12).toString('base64url'),
    createdAt: now,
    lastSeenAt: now,
    absoluteExpiresAt: now + 3_600_000,
    ip: '203.0.113.7',
    userAgent: 'Firefox 120 on Linux',
  };
}

/** Polls until `check` holds; returns the time it took, or throws after `bound` ms. */
async function within(bound: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < bound; i++) {
    if (await check()) return performance.now() - t0;
    await sleep(i < 50 ? 2 : 20);
  }
  throw new Error(`condition not met within ${bound} ms`);
}

describe('replicated session store: two replicas on one Redis', () => {
  let redis: Standalone;
  let a: ReplicatedSessionStore;
  let b: ReplicatedSessionStore;
  const metrics = createMetrics({ defaultMetrics: false });
  const registry = metrics.registry;
  const extra: ReplicatedSessionStore[] = [];
  const make = (m?: Metrics) =>
    new ReplicatedSessionStore({
      redis: { url: redis.url, commandTimeoutMs: 500, connectTimeoutMs: 500 },
      namespace: NS,
      blockMs: 500,
      metrics: m,
    });

  beforeAll(async () => {
    redis = await startStandalone({ name: 'replicated-test', appendonly: true });
    a = make();
    b = make(metrics);
    await Promise.all([a.ready, b.ready]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close(), ...extra.map((s) => s.close())]);
    await redis?.stop();
  });

  it('is not ready (ping fails) until its first snapshot is loaded', async () => {
    const s = new ReplicatedSessionStore({
      redis: { url: 'redis://127.0.0.1:1', commandTimeoutMs: 200, connectTimeoutMs: 200 },
      namespace: NS,
    });
    try {
      await expect(s.ping()).rejects.toBeInstanceOf(StoreError);
      await expect(s.get(id())).rejects.toMatchObject({ kind: 'unavailable' });
    } finally {
      await s.close();
    }
    await expect(b.ping()).resolves.toBeUndefined();
  });

  it('a create on A is visible on B within the bound', async () => {
    const sid = id();
    const r = record(`u-${id()}`);
    await a.create(sid, r, OPTS);
    expect(await a.get(sid)).toEqual(r); // read-your-writes on the writer
    const ms = await within(BOUND_MS, async () => (await b.get(sid)) !== null);
    expect(await b.get(sid)).toEqual(r);
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('a revoke on A is refused on B within the bound; touch and logout-all propagate too', async () => {
    const user = `u-${id()}`;
    const [s1, s2, s3] = [id(), id(), id()];
    for (const s of [s1, s2, s3]) await a.create(s!, record(user), OPTS);
    await within(BOUND_MS, async () => (await b.listByUser(user)).length === 3);
    expect(await a.revoke(s1!)).toBe(true);
    await within(BOUND_MS, async () => (await b.get(s1!)) === null);
    const r2 = (await a.get(s2!))!;
    expect(await a.touch(s2!, { ...r2, lastSeenAt: r2.lastSeenAt + 1000 }, OPTS.idleTimeoutMs)).toBe(true);
    await within(BOUND_MS, async () => (await b.get(s2!))?.lastSeenAt === r2.lastSeenAt + 1000);
    expect(await b.revokeAllForUser(user, s3)).toBe(1);
    await within(BOUND_MS, async () => (await a.get(s2!)) === null);
    expect((await a.listByUser(user)).map((x) => x.id)).toEqual([s3]);
  });

  it('per-user eviction on A reaches B', async () => {
    const user = `u-${id()}`;
    const ids = [id(), id(), id()];
    for (const s of ids) {
      await a.create(s, record(user), { ...OPTS, maxPerUser: 2 });
      await sleep(2);
    }
    await within(BOUND_MS, async () => (await b.listByUser(user)).map((x) => x.id).join() === ids.slice(1).join());
  });

  it('a fresh replica C started after 1000 writes has them all before it reports ready', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 1000; i += 50) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < i + 50; j++) {
        const s = id();
        ids.push(s);
        batch.push(a.create(s, record(`bulk-${j % 100}`), { ...OPTS, maxPerUser: 100 }));
      }
      await Promise.all(batch);
    }
    const c = make();
    extra.push(c);
    await expect(c.ping()).rejects.toThrow();
    await c.ready;
    await expect(c.ping()).resolves.toBeUndefined();
    const missing = [];
    for (const s of ids) if ((await c.get(s)) === null) missing.push(s);
    expect(missing).toEqual([]);
    expect(c.appliedSeq()).toBeGreaterThanOrEqual(1000);
  });

  it('a replica whose history was trimmed away while it was partitioned resynchronises and converges', async () => {
    const user = `u-${id()}`;
    const before = id();
    await a.create(before, record(user), OPTS);
    await within(BOUND_MS, async () => (await b.get(before)) !== null);
    const resyncs = b.stats.resyncs;
    await b.pauseReader();
    const during = [id(), id(), id()];
    for (const s of during) await a.create(s, record(user), OPTS);
    await a.revoke(before);
    // B is stale meanwhile: it still accepts the revoked session, and says so in its lag.
    expect(await b.get(before)).not.toBeNull();
    await sleep(50);
    expect(b.lagSeconds()).toBeGreaterThan(0);
    // Trim everything B has not read: a real XTRIM on the real stream.
    await redisCommand(redis.url, ['XTRIM', `${NS}:log`, 'MAXLEN', '0']);
    const after = id();
    await a.create(after, record(user), OPTS);
    b.resumeReader();
    await within(BOUND_MS * 2, async () => (await b.get(after)) !== null && (await b.get(before)) === null);
    expect(b.stats.resyncs).toBe(resyncs + 1);
    for (const s of during) expect(await b.get(s)).not.toBeNull();
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/session_replication_resyncs_total\{reason="gap"\} [1-9]/);
    expect(metrics).toMatch(/session_replication_lag_seconds 0\b/);
  });

  it('Redis hung (SIGSTOP): B validates from memory, its reader is reset once it misses the deadline, and it catches up after SIGCONT', async () => {
    const before = { id: id(), r: record(`u-${id()}`) };
    await a.create(before.id, before.r, OPTS);
    await within(BOUND_MS, async () => (await b.get(before.id)) !== null);
    const resets = b.stats.readerResets;
    await redis.redis.pause();
    try {
      // The reader's XREAD bound is blockMs + commandTimeoutMs = 1 s: wait past it.
      await sleep(1_500);
      expect(await b.get(before.id)).toEqual(before.r);
      expect(b.stats.readerResets).toBeGreaterThan(resets);
    } finally {
      await redis.redis.resume();
    }
    const after = { id: id(), r: record(`u-${id()}`) };
    await within(BOUND_MS * 2, async () => {
      try {
        await a.create(after.id, after.r, OPTS);
        return true;
      } catch {
        return false;
      }
    });
    await within(BOUND_MS * 2, async () => (await b.get(after.id)) !== null);
  });

  it('Redis killed: B keeps validating from memory, writes fail fast with a 503-kind error; restarted: writes resume and B catches up', async () => {
    const user = `u-${id()}`;
    const existing = id();
    await a.create(existing, record(user), OPTS);
    await within(BOUND_MS, async () => (await b.get(existing)) !== null);

    await redis.redis.kill('SIGKILL');
    // Validation: local, no network.
    for (let i = 0; i < 20; i++) expect(await b.get(existing)).not.toBeNull();
    await expect(b.ping()).resolves.toBeUndefined();
    // Writes: a StoreError the HTTP layer maps to 503, quickly.
    const t0 = performance.now();
    const err = await a.create(id(), record(user), OPTS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).kind).toBe('unavailable');
    await expect(a.revoke(existing)).rejects.toMatchObject({ kind: 'unavailable' });
    expect(performance.now() - t0).toBeLessThan(1000);
    await within(3000, () => b.lagSeconds() > 0.3);
    expect(await registry.metrics()).toMatch(/session_replication_lag_seconds (0\.[3-9]|[1-9])/);

    await redis.redis.start();
    const fresh = id();
    await within(10_000, async () => {
      try {
        await a.create(fresh, record(user), OPTS);
        return true;
      } catch {
        return false;
      }
    });
    await within(10_000, async () => (await b.get(fresh)) !== null);
    expect(await b.get(existing)).not.toBeNull(); // AOF kept it, nothing was lost
    expect(await a.revoke(existing)).toBe(true);
    await within(BOUND_MS, async () => (await b.get(existing)) === null);
    await within(BOUND_MS, () => b.lagSeconds() === 0);
  });

  it('Redis restarted empty (a new history): replicas notice the new epoch and resynchronise to it', async () => {
    const old = id();
    await a.create(old, record(`u-${id()}`), OPTS);
    await within(BOUND_MS, async () => (await b.get(old)) !== null);
    await redis.redis.kill('SIGKILL');
    await redis.redis.start({ emptyData: true });
    // What Redis no longer has, no replica keeps: the snapshot is the truth.
    await within(10_000, async () => (await b.get(old)) === null);
    expect(await registry.metrics()).toMatch(/session_replication_resyncs_total\{reason="epoch"\} [1-9]/);
    const next = id();
    await within(10_000, async () => a.create(next, record(`u-${id()}`), OPTS).then(() => true, () => false));
    await within(BOUND_MS, async () => (await b.get(next)) !== null);
  });
});
