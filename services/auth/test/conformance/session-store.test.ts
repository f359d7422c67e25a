import { withRedis } from '../support/redis.js';
import { sessionStoreConformance } from './session-store-suite.js';
import { MemorySessionStore } from '../../src/sessions/memory-store.js';
import { RedisSessionStore } from '../../src/sessions/redis-store.js';
import { createStandaloneConnection } from '../../src/redis/connection.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { nearCacheOverRedis } from '../../src/sessions/near-cache-redis.js';

const logger = createLogger('silent');

sessionStoreConformance('memory', async () => {
  const store = new MemorySessionStore(Date.now, 100);
  return { store, close: () => store.close() };
});

sessionStoreConformance('redis (standalone)', async () => {
  const redis = await withRedis();
  const conn = createStandaloneConnection(
    { url: redis.url, password: undefined, commandTimeoutMs: 500, connectTimeoutMs: 1000, waitReplicas: 0, waitTimeoutMs: 250 },
    logger,
    createMetrics({ defaultMetrics: false }),
  );
  await conn.ready;
  const store = new RedisSessionStore(conn, 'sa:v1:', 0);
  return {
    store,
    async close() {
      await store.close();
      await redis.stop();
    },
  };
});

// The same contract with the near cache on (SESSION_NEAR_CACHE): reads from process memory,
// invalidated by Redis. A bound of a minute, so only invalidations (and TTLs) can explain a fresh read.
sessionStoreConformance('redis (standalone) + near cache', async () => {
  const redis = await withRedis();
  const settings = { url: redis.url, password: undefined, commandTimeoutMs: 500, connectTimeoutMs: 1000, waitReplicas: 0, waitTimeoutMs: 250 };
  const metrics = createMetrics({ defaultMetrics: false });
  const conn = createStandaloneConnection(settings, logger, metrics);
  await conn.ready;
  const inner = new RedisSessionStore(conn, 'sa:v1:', 0);
  const store = nearCacheOverRedis({ store: inner, keys: inner, conn, settings, options: { maxAgeMs: 60_000, maxEntries: 1000 }, metrics, logger });
  return {
    store,
    async close() {
      await store.close();
      await redis.stop();
    },
  };
});
