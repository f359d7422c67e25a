import { createHook } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standalone } from '@session-auth/topology';
import { createClient } from 'redis';
import { setTimeout as sleep } from 'node:timers/promises';
import { createStandaloneConnection, deadlineExec, nodeClientOptions, type RedisConnection } from '../../src/redis/connection.js';
import { classifyRedisError } from '../../src/redis/errors.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { withRedis } from '../support/redis.js';

let redis: Standalone;
let conn: RedisConnection;
beforeAll(async () => {
  redis = await withRedis();
  conn = createStandaloneConnection(
    { url: redis.url, password: undefined, commandTimeoutMs: 500, connectTimeoutMs: 1000, waitReplicas: 0, waitTimeoutMs: 250 },
    createLogger('silent'),
    createMetrics({ defaultMetrics: false }),
  );
  await conn.ready;
});
afterAll(async () => {
  await conn?.close();
  await redis?.stop();
});

/** Timers created while fn runs (async_hooks sees unref'd ones too, like AbortSignal.timeout's). */
async function timersCreatedBy(fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'Timeout') n++;
    },
  }).enable();
  try {
    await fn();
  } finally {
    hook.disable();
  }
  return n;
}

describe('Redis connection', () => {
  it('bounds what queues on a hung connection, and classifies both refusals as unavailable', async () => {
    const c = await withRedis();
    const client = createClient(nodeClientOptions({ connectTimeoutMs: 1000 }, { url: c.url }));
    client.on('error', () => {});
    await client.connect();
    try {
      await c.redis.pause();
      const sent = Array.from({ length: 10_050 }, () => client.sendCommand(['PING']).then(() => 'ok', (err: unknown) => classifyRedisError('ping', err)));
      // Beyond commandsQueueMaxLength node-redis refuses at once instead of queueing.
      await sleep(100);
      client.destroy(); // what a reset does: everything still queued fails
      const outcomes = await Promise.all(sent);
      const refused = outcomes.filter((o): o is ReturnType<typeof classifyRedisError> => o !== 'ok');
      expect(refused).toHaveLength(10_050);
      expect(refused.filter((e) => /queue is full/i.test(e.message)).length).toBe(50);
      expect(new Set(refused.map((e) => e.kind))).toEqual(new Set(['unavailable']));
    } finally {
      await c.redis.resume();
      await c.stop();
    }
  });


  it('resets a connection whose commands keep missing the deadline, once per burst, and recovers', async () => {
    const c = await withRedis();
    let resets = 0;
    const client = createClient({ url: c.url, disableOfflineQueue: true, commandOptions: { timeout: 0 } });
    client.on('error', () => {});
    await client.connect();
    const exec = deadlineExec(client as unknown as Parameters<typeof deadlineExec>[0], { timeoutMs: 200, onReset: () => resets++ });
    try {
      expect(await exec.send(['PING'])).toBe('PONG');
      await c.redis.pause();
      // A burst of ten commands to a hung server: each fails within its bound, as a timeout or,
      // once the reset has failed what was still queued, as unavailable; together they reset
      // the connection once, not ten times.
      const started = performance.now();
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => exec.send(['PING'])));
      expect(performance.now() - started).toBeLessThan(1000);
      const kinds = results.map((r) => (r.status === 'rejected' ? classifyRedisError('ping', r.reason).kind : 'ok'));
      expect(kinds.filter((k) => k === 'timeout').length, kinds.join()).toBeGreaterThanOrEqual(3);
      expect(kinds.every((k) => k === 'timeout' || k === 'unavailable'), kinds.join()).toBe(true);
      expect(resets).toBe(1);
      await c.redis.resume();
      // The reset connection serves again as soon as the server answers.
      let reply: unknown;
      for (let i = 0; i < 50 && reply !== 'PONG'; i++) reply = await exec.send(['PING']).catch(() => sleep(100));
      expect(reply).toBe('PONG');
      expect(resets).toBe(1);
    } finally {
      await c.redis.resume().catch(() => {});
      client.destroy();
      await c.stop();
    }
  });

  it('leaves no timer per command behind (the end-to-end deadline is the only bound)', async () => {
    await conn.exec.send(['PING']);
    const created = await timersCreatedBy(() =>
      Promise.all(Array.from({ length: 200 }, (_, i) => conn.exec.send(['SET', `timer-check:${i}`, 'x', 'PX', '1000']))),
    );
    // node-redis's default 5 s command timeout would add one AbortSignal timer per command here.
    expect(created).toBeLessThan(10);
  });
});
