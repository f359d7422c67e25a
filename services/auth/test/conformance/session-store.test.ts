import { withRedis } from '../support/redis.js';
import { sessionStoreConformance } from './session-store-suite.js';
import { MemorySessionStore } from '../../src/sessions/memory-store.js';
import { RedisSessionStore } from '../../src/sessions/redis-store.js';
import { createStandaloneConnection } from '../../src/redis/connection.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';

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
