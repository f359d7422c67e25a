import { createRequire } from 'node:module';
import type CalculateSlot from '@redis/client/dist/lib/utils/calculate-slot.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The test side may use node-redis's slot function (the package itself stays dependency-free).
import { command, livePids, startClusterTopology, type ClusterTopology, type RedisProcess } from '../src/index.js';

// A CommonJS module with a transpiled default export: require() sees it as `.default` under Node
// and under vitest alike (an ESM default import does not: Node gives module.exports, vite the function).
const keySlot = (createRequire(import.meta.url)('@redis/client/dist/lib/utils/calculate-slot.js') as { default: typeof CalculateSlot.default }).default;

// One cluster for the file, driven through a story: kill a primary, see its replica promoted,
// bring it back as a replica, then move slots live.
describe.sequential('cluster topology (real redis-server, cluster-enabled)', () => {
  let topo: ClusterTopology;
  let victim: RedisProcess;

  beforeAll(async () => {
    topo = await startClusterTopology();
  });
  afterAll(async () => {
    await topo?.stop();
  });

  it('starts healthy: 3 primaries with 1 replica each, every slot covered once', async () => {
    expect(topo.nodes.map((n) => n.name)).toEqual(['primary-1', 'primary-2', 'primary-3', 'replica-1-1', 'replica-2-1', 'replica-3-1']);
    const shards = await topo.shards();
    expect(shards).toHaveLength(3);
    expect(shards.reduce((n, s) => n + s.slots.reduce((m, [a, b]) => m + b - a + 1, 0), 0)).toBe(16_384);
    for (const s of shards) expect(s.replicas.map((r) => r.name)).toEqual([`replica-${s.primary.name.slice(-1)}-1`]);
    victim = await topo.primaryOf(0);
    expect(victim.name).toBe('primary-1');
  });

  it('promotes the replica after kill -9 of its primary, and takes the old one back as a replica', async () => {
    const killedAt = Date.now();
    await victim.kill();
    const { primary, at } = await topo.waitForNewPrimary(victim.port, 15_000);
    expect(primary.name).toBe('replica-1-1');
    expect(at - killedAt).toBeLessThan(10_000);
    console.log(`cluster failover: replica promoted ${at - killedAt} ms after kill -9`);
    await victim.start();
    await topo.waitHealthy(20_000);
    const shard = (await topo.shards()).find((s) => s.primary === primary)!;
    expect(shard.replicas).toEqual([victim]);
  });

  it('moves slots live with their keys', async () => {
    const [a, b] = await topo.shards();
    const first = a!.slots[0]![0];
    const tag = tagForSlot(first);
    for (let i = 0; i < 50; i++) expect(await command(a!.primary, ['SET', `{${tag}}k${i}`, String(i)])).toBe('OK');
    const moved = await topo.moveSlots(a!.primary, b!.primary, 2, { keysPerBatch: 7 });
    expect(moved).toEqual([first, first + 1]);
    expect(await topo.primaryOf(first)).toBe(b!.primary);
    expect(await command(b!.primary, ['GET', `{${tag}}k49`])).toBe('49');
    await expect(command(a!.primary, ['GET', `{${tag}}k49`])).rejects.toThrow(/^MOVED /);
    await topo.waitHealthy(10_000);
  });

  it('leaves no process behind', async () => {
    const pids = topo.nodes.map((n) => n.pid()).filter((p): p is number => p !== undefined);
    await topo.stop();
    for (const p of pids) expect(livePids()).not.toContain(p);
  });
});

function tagForSlot(slot: number): string {
  for (let i = 0; ; i++) if (keySlot(`{${i}}`) === slot) return String(i);
}
