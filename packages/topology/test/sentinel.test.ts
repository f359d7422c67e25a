import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  command,
  livePids,
  pidAlive,
  startSentinelTopology,
  type RedisProcess,
  type SentinelEventStream,
  type SentinelTopology,
} from '../src/index.js';

// One topology for the whole file, driven through a failover story step by step: starting three
// of them would cost more than the rest of the suite on a 2-core machine.
describe.sequential('sentinel topology (real redis-server + redis-sentinel)', () => {
  let topo: SentinelTopology;
  let events: SentinelEventStream;
  let oldPrimary: RedisProcess;
  let killedAt = 0;

  beforeAll(async () => {
    topo = await startSentinelTopology({ password: 'topology-secret' });
    events = topo.events();
    await events.ready;
  });

  afterAll(async () => {
    await topo?.stop();
  });

  it('starts healthy: node 0 primary, two linked replicas, three sentinels that see each other', async () => {
    expect(topo.masterName).toBe('mymaster');
    expect(topo.redisNodes.map((n) => n.name)).toEqual(['redis-primary', 'replica-1', 'replica-2']);
    expect(topo.sentinels.map((n) => n.name)).toEqual(['sentinel-1', 'sentinel-2', 'sentinel-3']);
    expect(topo.sentinelAddresses).toEqual(topo.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })));
    oldPrimary = await topo.currentPrimary();
    expect(oldPrimary).toBe(topo.redisNodes[0]);
    expect((await topo.replicasOf()).map((n) => n.name).sort()).toEqual(['replica-1', 'replica-2']);
    await topo.waitHealthy(1000);
    await command({ host: oldPrimary.host, port: oldPrimary.port, password: 'topology-secret' }, ['SET', 'before', 'failover']);
  });

  it('fails over after kill -9 of the primary, with +sdown/+odown/+switch-master events', async () => {
    killedAt = Date.now();
    await oldPrimary.kill();
    expect(oldPrimary.running()).toBe(false);

    const { primary, at } = await topo.waitForNewPrimary(oldPrimary.port, 15_000);
    expect(primary).not.toBe(oldPrimary);
    expect(at - killedAt).toBeLessThan(10_000);

    const sw = await events.waitFor('+switch-master', { since: killedAt, timeoutMs: 10_000 });
    const sdown = await events.waitFor('+sdown', { since: killedAt, match: (e) => e.message.startsWith('master ') });
    const odown = await events.waitFor('+odown', { since: killedAt });
    expect(sw.message).toBe(`mymaster 127.0.0.1 ${oldPrimary.port} 127.0.0.1 ${primary.port}`);
    expect(sdown.at).toBeLessThanOrEqual(odown.at);
    expect(odown.at).toBeLessThanOrEqual(sw.at);
    console.log(
      `failover: +sdown ${sdown.at - killedAt} ms, +odown ${odown.at - killedAt} ms, ` +
        `+switch-master ${sw.at - killedAt} ms, waitForNewPrimary ${at - killedAt} ms after kill -9`,
    );

    // The promoted replica kept the data written before the crash.
    const auth = { host: primary.host, port: primary.port, password: 'topology-secret' };
    expect(await command(auth, ['GET', 'before'])).toBe('failover');
  });

  it('restarts the killed primary empty on its port; Sentinel turns it into a replica', async () => {
    const { port } = oldPrimary;
    await oldPrimary.start({ emptyData: true });
    expect(oldPrimary.port).toBe(port);
    await topo.waitHealthy(25_000);
    const primary = await topo.currentPrimary();
    expect(primary).not.toBe(oldPrimary);
    expect(await topo.replicasOf()).toContain(oldPrimary);
    const info = String(
      await command({ host: oldPrimary.host, port, password: 'topology-secret' }, ['INFO', 'replication']),
    );
    expect(info).toContain('role:slave');
    expect(info).toContain(`master_port:${primary.port}`);
    // Resynced from the new primary: the data it lost on disk is back.
    expect(await command({ host: oldPrimary.host, port, password: 'topology-secret' }, ['GET', 'before'])).toBe('failover');
    const convert = events.all().find((e) => e.channel === '+convert-to-slave' && e.at >= killedAt);
    expect(convert?.message).toContain(`${port}`);
  });

  it('stop() kills every process it started, closes event streams and removes its temp dir', async () => {
    const pids = [...topo.redisNodes, ...topo.sentinels].map((p) => p.pid());
    expect(pids.every((p) => typeof p === 'number')).toBe(true);
    await topo.stop();
    for (const pid of pids) expect(pidAlive(pid as number)).toBe(false);
    expect([...topo.redisNodes, ...topo.sentinels].some((p) => p.running())).toBe(false);
    expect(livePids()).toEqual([]);
    expect(existsSync(topo.baseDir)).toBe(false);
    await topo.stop(); // idempotent
  });
});
