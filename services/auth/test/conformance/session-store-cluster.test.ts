import { randomBytes } from 'node:crypto';
import { startClusterTopology, type ClusterTopology } from '@session-auth/topology';
import { sessionStoreConformance } from './session-store-suite.js';
import { RedisSessionStore } from '../../src/sessions/redis-store.js';
import { createClusterConnection } from '../../src/redis/cluster.js';
import { slotTag } from '../../src/hash-tag.js';
import { newToken, sessionIdFromToken } from '../../src/sessions/token.js';
import { newUserId } from '../../src/users/repository.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';

// Ids as the service mints them in cluster mode: the user id led by its email's slot tag, session
// ids led by the user's (docs/cluster.md), so a user's index and sessions share one slot.
sessionStoreConformance('cluster (3 primaries x 1 replica; WAIT 1 on the shard)', async () => {
  const topo: ClusterTopology = await startClusterTopology();
  const conn = createClusterConnection(
    { nodes: topo.addresses, password: undefined, commandTimeoutMs: 500, connectTimeoutMs: 1000, waitReplicas: 1, waitTimeoutMs: 250 },
    createLogger('silent'),
    createMetrics({ defaultMetrics: false }),
  );
  await conn.ready;
  const store = new RedisSessionStore(conn, 'sa:v1:', 1);
  return {
    store,
    newUserId: () => newUserId(slotTag(`${randomBytes(6).toString('hex')}@example.com`)),
    sessionIdFor: (userId) => sessionIdFromToken(newToken(userId)),
    async close() {
      await store.close();
      await topo.stop();
    },
  };
});
