import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { command, startSentinelTopology, type Standalone } from '@session-auth/topology';
import { withRedis } from '../support/redis.js';
import { createStandaloneConnection } from '../../src/redis/connection.js';
import { createSentinelConnection } from '../../src/redis/sentinel.js';
import { RedisSessionStore } from '../../src/sessions/redis-store.js';
import { nearCacheOverRedis } from '../../src/sessions/near-cache-redis.js';
import type { NearCacheStore } from '../../src/sessions/near-cache.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import type { SessionRecord } from '../../src/sessions/types.js';
import { sentinelSettings } from '../support/redis.js';

const logger = createLogger('silent');
const id = () => randomBytes(16).toString('base64url');
const OPTS = { idleTimeoutMs: 60_000, maxPerUser: 10 };

function record(userId = `u-${id()}`): SessionRecord {
  const now = Date.now();
  return { userId, email: `${userId}@example.com`, handle: id(), createdAt: now, lastSeenAt: now, absoluteExpiresAt: now + 3_600_000, ip: '203.0.113.9', userAgent: 'Firefox 120 on Linux' };
}

async function until(cond: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const count = async (m: Metrics['nearCacheLookups'] | Metrics['nearCacheFlushes'] | Metrics['nearCacheInvalidations'], label: string) =>
  (await m.get()).values.find((v) => Object.values(v.labels).includes(label))?.value ?? 0;

/** One app replica: its own connection, store and near cache (a minute's bound: only pushes explain a fresh read). */
async function replica(url: string) {
  const settings = { url, password: undefined, commandTimeoutMs: 500, connectTimeoutMs: 1000, waitReplicas: 0, waitTimeoutMs: 250 };
  const metrics = createMetrics({ defaultMetrics: false });
  const conn = createStandaloneConnection(settings, logger, metrics);
  await conn.ready;
  const inner = new RedisSessionStore(conn, 'sa:v1:', 0);
  const cache = nearCacheOverRedis({ store: inner, keys: inner, conn, settings, options: { maxAgeMs: 60_000, maxEntries: 1000 }, metrics, logger });
  return { cache, metrics };
}

describe('near cache (CLIENT TRACKING) across two app replicas', () => {
  let redis: Standalone;
  let a: { cache: NearCacheStore; metrics: Metrics };
  let b: { cache: NearCacheStore; metrics: Metrics };
  let raw: ReturnType<typeof createClient>;

  beforeAll(async () => {
    redis = await withRedis();
    [a, b] = await Promise.all([replica(redis.url), replica(redis.url)]);
    raw = createClient({ url: redis.url });
    await raw.connect();
    // The tracked connection is opened asynchronously: wait until reads can be cached.
    const probe = id();
    await a.cache.create(probe, record(), OPTS);
    await until(async () => {
      await b.cache.get(probe);
      await a.cache.get(probe);
      return b.cache.size > 0 && a.cache.size > 0;
    });
  });
  afterAll(async () => {
    await raw?.close();
    await Promise.all([a?.cache.close(), b?.cache.close()]);
    await redis?.stop();
  });

  it('answers a hot session from memory', async () => {
    const sid = id();
    const r = record();
    await a.cache.create(sid, r, OPTS);
    expect(await b.cache.get(sid)).toEqual(r);
    const hits = await count(b.metrics.nearCacheLookups, 'hit');
    for (let i = 0; i < 10; i++) expect(await b.cache.get(sid)).toEqual(r);
    expect((await count(b.metrics.nearCacheLookups, 'hit')) - hits).toBe(10);
  });

  it('a revocation on replica A is refused on replica B without waiting for the bound', async () => {
    const sid = id();
    await a.cache.create(sid, record(), OPTS);
    expect(await b.cache.get(sid)).not.toBeNull();
    expect(await b.cache.get(sid)).not.toBeNull(); // cached now
    const t0 = performance.now();
    expect(await a.cache.revoke(sid)).toBe(true);
    // A refuses at once (its own write); B as soon as the push arrives, far inside the minute.
    expect(await a.cache.get(sid)).toBeNull();
    await until(async () => (await b.cache.get(sid)) === null, 2000);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(await count(b.metrics.nearCacheInvalidations, 'server')).toBeGreaterThan(0);
  });

  it('a touch elsewhere reaches the cached copy; revoke-all drops every cached session of the user', async () => {
    const user = `u-${id()}`;
    const [s1, s2] = [id(), id()];
    const r1 = record(user);
    await a.cache.create(s1, r1, OPTS);
    await a.cache.create(s2, record(user), OPTS);
    await b.cache.get(s1);
    await b.cache.get(s2);
    await a.cache.touch(s1, { ...r1, lastSeenAt: r1.lastSeenAt + 1000 }, OPTS.idleTimeoutMs);
    await until(async () => (await b.cache.get(s1))?.lastSeenAt === r1.lastSeenAt + 1000, 2000);
    expect(await b.cache.revokeAllForUser(user)).toBe(2);
    expect(await b.cache.get(s1)).toBeNull();
    expect(await b.cache.get(s2)).toBeNull();
  });

  it('flushes when the tracked connection is killed, and caches again once it is back', async () => {
    const sid = id();
    await a.cache.create(sid, record(), OPTS);
    await b.cache.get(sid);
    expect(b.cache.size).toBeGreaterThan(0);
    const before = await count(b.metrics.nearCacheFlushes, 'disconnect');
    // Every tracking connection (flag t) goes; the plain ones stay.
    const list = String(await raw.sendCommand(['CLIENT', 'LIST']));
    const tracked = list.split('\n').filter((l) => / flags=\S*t/.test(l)).map((l) => /id=(\d+)/.exec(l)![1]!);
    expect(tracked.length).toBe(2);
    for (const cid of tracked) await raw.sendCommand(['CLIENT', 'KILL', 'ID', cid]);
    await until(async () => (await count(b.metrics.nearCacheFlushes, 'disconnect')) > before);
    expect(b.cache.size).toBe(0);
    // A revocation while it reconnects is still refused: nothing stale survived the gap.
    await a.cache.revoke(sid);
    expect(await b.cache.get(sid)).toBeNull();
    const again = id();
    await a.cache.create(again, record(), OPTS);
    await until(async () => {
      await b.cache.get(again);
      return b.cache.size > 0;
    });
  });

  it('flushes everything on a server-side FLUSHALL', async () => {
    const sid = id();
    await a.cache.create(sid, record(), OPTS);
    await b.cache.get(sid);
    const before = await count(b.metrics.nearCacheFlushes, 'flush_all');
    await raw.sendCommand(['FLUSHALL']);
    await until(async () => (await count(b.metrics.nearCacheFlushes, 'flush_all')) > before);
    expect(await b.cache.get(sid)).toBeNull();
  });
});

describe('near cache on Sentinel: the primary moves', () => {
  it('flushes on a failover, follows the new primary, and a revocation after it is refused', async () => {
    const topo = await startSentinelTopology();
    const settings = sentinelSettings(topo);
    const mk = async () => {
      const metrics = createMetrics({ defaultMetrics: false });
      const conn = createSentinelConnection({ ...settings, pollIntervalMs: 200 }, logger, metrics);
      await conn.ready;
      const inner = new RedisSessionStore(conn, 'sa:v1:', 1);
      return { cache: nearCacheOverRedis({ store: inner, keys: inner, conn, settings, options: { maxAgeMs: 60_000, maxEntries: 1000 }, metrics, logger }), metrics };
    };
    const [a, b] = await Promise.all([mk(), mk()]);
    try {
      const sid = id();
      await a.cache.create(sid, record(), OPTS);
      await until(async () => {
        await b.cache.get(sid);
        return b.cache.size > 0;
      });
      const old = await topo.currentPrimary();
      await command({ host: topo.sentinels[0]!.host, port: topo.sentinels[0]!.port }, ['SENTINEL', 'FAILOVER', topo.masterName], 2000);
      await topo.waitForNewPrimary(old.port);
      await until(async () => (await count(b.metrics.nearCacheFlushes, 'primary_change')) > 0, 10_000);
      // Writes recover on the new primary (retried while A still follows the switch)...
      await until(() => a.cache.revoke(sid).then(() => true, () => false), 10_000);
      expect(await b.cache.get(sid)).toBeNull();
      // ...B's tracked connection follows it and caches again...
      const next = id();
      await until(async () => (await a.cache.create(next, record(), OPTS).then(() => true, () => false)), 10_000);
      await until(async () => {
        await b.cache.get(next);
        return b.cache.size > 0;
      });
      // ...and is invalidated from there: a revocation through A after the failover reaches B.
      await a.cache.revoke(next);
      await until(async () => (await b.cache.get(next)) === null, 2000);
    } finally {
      await Promise.all([a.cache.close(), b.cache.close()]);
      await topo.stop();
    }
  }, 60_000);
});
