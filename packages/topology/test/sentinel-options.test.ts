import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command, startSentinelTopology, type SentinelTopology } from '../src/index.js';

// Non-default options: sentinel AUTH, one replica, two sentinels, no replica required for writes.
describe.sequential('sentinel topology with non-default options', () => {
  let topo: SentinelTopology;

  beforeAll(async () => {
    topo = await startSentinelTopology({
      masterName: 'other',
      replicas: 1,
      sentinels: 2,
      quorum: 1,
      minReplicasToWrite: 0,
      appendonly: false,
      sentinelPassword: 'sentinel-secret',
    });
  });

  afterAll(async () => {
    await topo?.stop();
  });

  it('protects the sentinels with their own password and still reaches health', async () => {
    const [s1] = topo.sentinelAddresses;
    await expect(command({ host: s1!.host, port: s1!.port }, ['SENTINEL', 'MASTERS'])).rejects.toThrow(/NOAUTH/);
    const reply = await command({ ...s1!, password: 'sentinel-secret' }, ['SENTINEL', 'get-master-addr-by-name', 'other']);
    expect(reply).toEqual(['127.0.0.1', String(topo.redisNodes[0]!.port)]);
    expect(topo.redisNodes).toHaveLength(2);
    expect(topo.sentinels).toHaveLength(2);
  });

  it('accepts writes with every replica dead when minReplicasToWrite is 0', async () => {
    await topo.redisNodes[1]!.kill();
    expect(await topo.replicasOf()).toEqual([]);
    expect(await command(topo.redisNodes[0]!, ['SET', 'k', 'v'])).toBe('OK');
    await topo.redisNodes[1]!.start();
    await topo.waitHealthy(10_000);
  });

  it('a restarted sentinel keeps its rewritten config and rejoins; events flow through AUTH', async () => {
    const events = topo.events();
    await events.ready;
    const sentinel = topo.sentinels[1]!;
    const port = sentinel.port;
    const killedAt = Date.now();
    await sentinel.kill();
    const isSentinel = (e: { message: string }): boolean => e.message.startsWith('sentinel ');
    // The survivor flags it down after down-after-milliseconds (1.5 s): proof events arrive via AUTH.
    const down = await events.waitFor('+sdown', { since: killedAt, match: isSentinel, timeoutMs: 5_000 });
    expect(down.sentinel).toBe('sentinel-1');
    await topo.waitHealthy(5_000); // a killed sentinel is simply left out
    const since = Date.now();
    await sentinel.start();
    expect(sentinel.port).toBe(port);
    await topo.waitHealthy(10_000);
    const back = await events.waitFor('-sdown', { since, match: isSentinel, timeoutMs: 5_000 });
    expect(back.sentinel).toBe('sentinel-1');
    await events.close();
  });
});
