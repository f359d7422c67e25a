import { withRedis } from '../support/redis.js';
import { sessionStoreConformance } from './session-store-suite.js';
import { createReplicatedStore } from '../../src/replication/store.js';

sessionStoreConformance('replicated (Redis Streams)', async () => {
  const redis = await withRedis();
  const store = createReplicatedStore(
    { url: redis.url, commandTimeoutMs: 500, connectTimeoutMs: 1000 },
    { namespace: 'sa:v1:replication', sweepIntervalMs: 100 },
  );
  await store.ready;
  return {
    store,
    async close() {
      await store.close();
      await redis.stop();
    },
  };
});
