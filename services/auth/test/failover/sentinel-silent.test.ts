import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { command, startSentinelTopology, type SentinelTopology } from '@session-auth/topology';
import { createSentinelConnection } from '../../src/redis/sentinel.js';
import type { RedisConnection } from '../../src/redis/connection.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { pollUntil } from '../integration/_helpers.js';
import { sentinelSettings } from '../support/redis.js';

/**
 * A sentinel that is cut off without knowing it (partition-sentinels: sentinel-1 on the old
 * primary's side) keeps an open TCP connection that never answers. Here it is frozen (SIGSTOP)
 * and listed first, where the app used to send its SENTINEL replicas question. Its queries are given a
 * deadline far longer than the test, so the connection only follows the failover if it decides
 * on the two sentinels that do answer.
 */
describe('Sentinel connection with one sentinel that never answers', () => {
  let topo: SentinelTopology;
  let conn: RedisConnection | undefined;

  beforeAll(async () => {
    topo = await startSentinelTopology();
  }, 60_000);

  afterAll(async () => {
    await topo?.sentinels[0]?.resume();
    await conn?.close();
    await topo?.stop();
  });

  it('follows a failover the other two sentinels agree on', async () => {
    conn = createSentinelConnection(
      sentinelSettings(topo, {
        // The silent sentinel's queries wait this long: longer than the test runs.
        commandTimeoutMs: 120_000,
        // +switch-master alone must bring the change (no poll comes in time to find it instead).
        pollIntervalMs: 600_000,
      }),
      createLogger('silent'),
      createMetrics({ defaultMetrics: false }),
    );
    await conn.ready;
    const old = await topo.currentPrimary();
    expect(conn.primaryTarget()).toEqual({ host: old.host, port: old.port });

    const [silent, leader, other] = topo.sentinels;
    await silent!.pause();
    await command({ host: leader!.host, port: leader!.port }, ['SENTINEL', 'FAILOVER', topo.masterName], 2000);
    const named = async () =>
      Promise.all([leader!, other!].map(async (s) => ((await command({ host: s.host, port: s.port }, ['SENTINEL', 'get-master-addr-by-name', topo.masterName], 1000)) as string[])[1]));
    const { value: ports } = await pollUntil(named, (p) => p[0] === p[1] && Number(p[0]) !== old.port, { timeoutMs: 20_000, everyMs: 50 });
    const newPort = Number(ports[0]);

    // Before the fix this waited out the silent sentinel's deadline (twice) per rediscovery.
    const { value: target } = await pollUntil(async () => conn!.primaryTarget(), (t) => t !== undefined && 'port' in t && t.port === newPort, {
      timeoutMs: 15_000,
      everyMs: 50,
    });
    expect(target).toEqual({ host: old.host, port: newPort });
    // The new primary takes writes through the connection (not READONLY: it is the primary).
    expect(await conn.exec.send(['SET', 'sentinel-silent:probe', '1'])).toBe('OK');
  }, 60_000);
});
