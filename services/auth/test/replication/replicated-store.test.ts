import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { startStandalone, type Standalone } from '@session-auth/topology';
import {
  createReplicatedStore,
  ReplicatedSessionStore,
  replicationConnections,
} from '../../src/replication/store.js';
import { entriesOf, seqOfId } from '../../src/replication/stream.js';
import { StoreError } from '../../src/errors.js';
import { redisCommand } from '../support/redis.js';
import { partitionable } from '../support/partition.js';
import { record } from '../support/records.js';

/**
 * Two (and three) replicated stores on one real Redis: propagation, catch-up at start, gap
 * detection and resync, and a Redis kill -9 and restart (AOF on).
 */
const NS = 'sa:v1:replication';
const OPTS = { idleTimeoutMs: 600_000, maxPerUser: 10 };
const BOUND_MS = 2000;
const id = () => randomBytes(32).toString('base64url').slice(0, 43);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds; returns the time it took, or throws after `bound` ms. */
async function within(bound: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < bound; i++) {
    if (await check()) return performance.now() - t0;
    await sleep(i < 50 ? 2 : 20);
  }
  throw new Error(`condition not met within ${bound} ms`);
}

/** The named connections Redis holds for the replicas' followers (CLIENT LIST). */
async function readerConnectionIds(url: string): Promise<string[]> {
  const list = String(await redisCommand(url, ['CLIENT', 'LIST', 'TYPE', 'normal']));
  return list
    .split('\n')
    .filter((l) => l.includes('name=session-auth:replication-reader'))
    .map((l) => /\bid=(\d+)/.exec(l)![1]!);
}

describe('replicated session store: two replicas on one Redis', () => {
  let redis: Standalone;
  let a: ReplicatedSessionStore;
  let b: ReplicatedSessionStore;
  /** B's follower link to Redis, which the partition tests cut. */
  let link: ReturnType<typeof partitionable>;
  const metrics = createMetrics({ defaultMetrics: false });
  const registry = metrics.registry;
  const extra: ReplicatedSessionStore[] = [];
  const make = (m?: Metrics) =>
    createReplicatedStore({ url: redis.url, commandTimeoutMs: 500, connectTimeoutMs: 500 }, { namespace: NS, blockMs: 500, metrics: m });
  /** A replica whose follower reads through a link the test can cut (its writes do not). */
  const makeLinked = (o: { metrics?: Metrics; maxStalenessMs?: number } = {}) => {
    const conns = replicationConnections({ url: redis.url, commandTimeoutMs: 500, connectTimeoutMs: 500 }, { blockMs: 500 });
    const l = partitionable(conns.reader);
    const store = new ReplicatedSessionStore(
      { reader: l.exec, writer: conns.writer, close: () => conns.close() },
      { namespace: NS, commandTimeoutMs: 500, blockMs: 500, ...o },
    );
    return { store, link: l };
  };
  const resyncs = async (reason: 'gap' | 'epoch') =>
    (await registry.getSingleMetric('session_replication_resyncs_total')!.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

  beforeAll(async () => {
    // fsync on every write: the kill -9 test below asserts that a restart loses nothing, which
    // `everysec` promises only for writes older than ~2 s (a slow background fsync postpones the
    // AOF write while replies still go out: seen on a busy machine).
    redis = await startStandalone({ name: 'replicated-test', appendonly: true, extraConfig: ['appendfsync always'] });
    a = make();
    ({ store: b, link } = makeLinked({ metrics }));
    await Promise.all([a.ready, b.ready]);
  });
  afterAll(async () => {
    link?.heal();
    await Promise.allSettled([a?.close(), b?.close(), ...extra.map((s) => s.close())]);
    await redis?.stop();
  });

  it('is not ready (ping fails) until its first snapshot is loaded', async () => {
    const s = createReplicatedStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 200, connectTimeoutMs: 200 }, { namespace: NS });
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
    const gapsBefore = await resyncs('gap');
    link.cut();
    const during = [id(), id(), id()];
    for (const s of during) await a.create(s, record(user), OPTS);
    await a.revoke(before);
    // B is stale meanwhile: it still accepts the revoked session, and says so in its lag.
    expect(await b.get(before)).not.toBeNull();
    await within(BOUND_MS, () => b.lagSeconds() > 0);
    // Trim everything B has not read: a real XTRIM on the real stream.
    await redisCommand(redis.url, ['XTRIM', `${NS}:log`, 'MAXLEN', '0']);
    const after = id();
    await a.create(after, record(user), OPTS);
    link.heal();
    await within(BOUND_MS * 2, async () => (await b.get(after)) !== null && (await b.get(before)) === null);
    expect(await resyncs('gap')).toBe(gapsBefore + 1);
    for (const s of during) expect(await b.get(s)).not.toBeNull();
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/session_replication_resyncs_total\{reason="gap"\} [1-9]/);
    expect(metrics).toMatch(/session_replication_lag_seconds 0\b/);
  });

  it("a replica's own revoke is not undone when its follower then delivers the create that preceded it", async () => {
    const sid = id();
    link.cut();
    let createSeq = 0;
    try {
      await a.create(sid, record(`u-${id()}`), OPTS);
      createSeq = Number(await redisCommand(redis.url, ['GET', `${NS}:seq`]));
      // Let B's held replies through one by one until the one it holds carries that create.
      const carriesCreate = (reply: unknown) =>
        entriesOf(reply, true).some((e) => Array.isArray(e) && seqOfId(String(e[0])) === createSeq);
      await within(BOUND_MS * 2, () => {
        const held = link.held();
        if (held.length > 0 && carriesCreate(held[held.length - 1])) return true;
        link.release();
        return false;
      });
      // B's writes do not go through the cut link: it revokes the session it has not seen yet.
      expect(await b.revoke(sid)).toBe(true);
      expect(await b.get(sid)).toBeNull();
      link.release();
      await within(BOUND_MS, () => b.appliedSeq() >= createSeq);
      // The follower is now between the create and the revoke (that reply is held): the revoke
      // applied ahead of it still wins.
      expect(await b.get(sid)).toBeNull();
    } finally {
      link.heal();
    }
    await within(BOUND_MS, () => b.appliedSeq() >= createSeq + 1);
    expect(await b.get(sid)).toBeNull();
  });

  it('with a staleness bound, a cut-off replica serves until it is that stale, then fails fast, and serves again once current', async () => {
    const { store: c, link: cl } = makeLinked({ maxStalenessMs: 800 });
    extra.push(c);
    await c.ready;
    const sid = id();
    const user = `u-${id()}`;
    await a.create(sid, record(user), OPTS);
    await within(BOUND_MS, async () => (await c.get(sid)) !== null);
    cl.cut();
    try {
      expect(await c.get(sid)).not.toBeNull();
      await within(BOUND_MS * 2, () => c.lagSeconds() > 0.8);
      await expect(c.get(sid)).rejects.toMatchObject({ kind: 'unavailable' });
      await expect(c.listByUser(user)).rejects.toMatchObject({ kind: 'unavailable' });
      await expect(c.ping()).rejects.toMatchObject({ kind: 'unavailable' });
      // The unbounded replica B, cut off from nothing, serves as before.
      expect(await b.get(sid)).not.toBeNull();
    } finally {
      cl.heal();
    }
    await within(BOUND_MS, () => c.ping().then(() => true, () => false));
    expect(await c.get(sid)).not.toBeNull();
  });

  it('Redis hung (SIGSTOP): B validates from memory, its reader is reset once it misses the deadline, and it catches up after SIGCONT', async () => {
    const before = { id: id(), r: record(`u-${id()}`) };
    await a.create(before.id, before.r, OPTS);
    await within(BOUND_MS, async () => (await b.get(before.id)) !== null);
    const readersBefore = await readerConnectionIds(redis.url);
    expect(readersBefore.length).toBe(2 + extra.length);
    await redis.redis.pause();
    try {
      // The reader's XREAD bound is blockMs + commandTimeoutMs = 1 s: wait past it.
      await sleep(1_500);
      expect(await b.get(before.id)).toEqual(before.r);
    } finally {
      await redis.redis.resume();
    }
    // Every follower dropped the connection that missed its deadline and made a new one.
    await within(BOUND_MS * 2, async () => {
      const now = await readerConnectionIds(redis.url);
      return now.length === readersBefore.length && now.every((id) => !readersBefore.includes(id));
    });
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
