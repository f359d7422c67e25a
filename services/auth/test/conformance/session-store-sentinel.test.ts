import { startSentinelTopology, type SentinelTopology } from '@session-auth/topology';
import { sessionStoreConformance } from './session-store-suite.js';
import { RedisSessionStore } from '../../src/sessions/redis-store.js';
import { createSentinelConnection } from '../../src/redis/sentinel.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';

sessionStoreConformance('sentinel (primary, 2 replicas, 3 sentinels; WAIT 1)', async () => {
  const topo: SentinelTopology = await startSentinelTopology();
  const conn = createSentinelConnection(
    {
      url: '',
      password: undefined,
      commandTimeoutMs: 500,
      connectTimeoutMs: 1000,
      waitReplicas: 1,
      waitTimeoutMs: 250,
      sentinels: topo.sentinelAddresses,
      masterName: topo.masterName,
      sentinelPassword: undefined,
    },
    createLogger('silent'),
    createMetrics({ defaultMetrics: false }),
  );
  await conn.ready;
  const store = new RedisSessionStore(conn, 'sa:v1:', 1);
  return {
    store,
    async close() {
      await store.close();
      await topo.stop();
    },
  };
});
