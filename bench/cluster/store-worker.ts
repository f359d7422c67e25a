// One process driving the cluster store directly: GET of seeded session keys through the
// service's own cluster connection (node-redis createCluster, pipelined), `CONCURRENCY` in flight,
// for `SECONDS`. Several of these at once try to make Redis, not the client, the limit.
// Prints one JSON line: { ops, seconds, errors }.
import { readFileSync } from 'node:fs';
import { createClusterConnection } from '../../services/auth/src/redis/cluster.js';
import { createLogger } from '../../services/auth/src/observability/logger.js';
import { createMetrics } from '../../services/auth/src/observability/metrics.js';

const nodes = JSON.parse(process.env.CLUSTER_NODES ?? '[]') as { host: string; port: number }[];
const keys = JSON.parse(readFileSync(process.env.KEYS_FILE ?? '', 'utf8')) as string[];
const seconds = Number(process.env.SECONDS ?? '5');
const concurrency = Number(process.env.CONCURRENCY ?? '128');

const conn = createClusterConnection(
  { nodes, password: undefined, commandTimeoutMs: 5000, connectTimeoutMs: 2000, waitReplicas: 0, waitTimeoutMs: 250 },
  createLogger('warn'),
  createMetrics({ defaultMetrics: false }),
);
await conn.ready;
let ops = 0;
let errors = 0;
let i = Math.floor(Math.random() * keys.length);
const end = performance.now() + seconds * 1000;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      try {
        await conn.exec.send(['GET', keys[i++ % keys.length]!]);
        ops++;
      } catch {
        errors++;
      }
    }
  }),
);
console.log(JSON.stringify({ ops, seconds, errors }));
await conn.close();
process.exit(0);
