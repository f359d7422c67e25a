import { startSentinelTopology, type SentinelTopology } from '@session-auth/topology';
import { sessionStoreConformance } from './session-store-suite.js';
import { sentinelSettings } from '../support/redis.js';
import { RedisSessionStore } from '../../src/sessions/redis-store.js';
import { createSentinelConnection } from '../../src/redis/sentinel.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { nearCacheOverRedis } from '../../src/sessions/near-cache-redis.js';

for (const nearCache of [false, true]) {
sessionStoreConformance(`sentinel (primary, 2 replicas, 3 sentinels; WAIT 1)${nearCache ? ' + near cache' : ''}`, async () => {
  const topo: SentinelTopology = await startSentinelTopology();
  const metrics = createMetrics({ defaultMetrics: false });
  const settings = sentinelSettings(topo);
  const logger = createLogger('silent');
  const conn = createSentinelConnection(settings, logger, metrics);
  await conn.ready;
  const inner = new RedisSessionStore(conn, 'sa:v1:', 1);
  const store = nearCache
    ? nearCacheOverRedis({ store: inner, keys: inner, conn, settings, options: { maxAgeMs: 60_000, maxEntries: 1000 }, metrics, logger })
    : inner;
  return {
    store,
    async close() {
      await store.close();
      await topo.stop();
    },
  };
});
}
