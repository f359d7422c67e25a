import { createSentinel } from 'redis';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { classifyRedisError } from './errors.js';
import { reconnectDelay, waitForReplicas, type RedisConnection, type RedisSettings } from './connection.js';
import type { RedisExec } from './exec.js';

export interface SentinelSettings extends RedisSettings {
  readonly sentinels: readonly { host: string; port: number }[];
  readonly masterName: string;
  readonly sentinelPassword: string | undefined;
}

export function createSentinelConnection(s: SentinelSettings, logger: Logger, metrics: Metrics): RedisConnection {
  const sentinel = createSentinel({
    name: s.masterName,
    sentinelRootNodes: s.sentinels.map((n) => ({ host: n.host, port: n.port })),
    nodeClientOptions: {
      ...(s.password ? { password: s.password } : {}),
      socket: { connectTimeout: s.connectTimeoutMs, reconnectStrategy: reconnectDelay },
      disableOfflineQueue: true,
    },
    sentinelClientOptions: {
      ...(s.sentinelPassword ? { password: s.sentinelPassword } : {}),
      socket: { connectTimeout: s.connectTimeoutMs, reconnectStrategy: reconnectDelay },
    },
    masterPoolSize: 4,
    replicaPoolSize: 0,
    scanInterval: 1000,
    passthroughClientErrorEvents: false,
  });
  let currentPrimary: string | undefined;
  sentinel.on('error', (err: Error) => {
    logger.warn({ err: { message: err.message } }, 'redis sentinel error');
  });
  sentinel.on('topology-change', (event: { type: string; node?: { host: string; port: number } }) => {
    if (event.type === 'MASTER_CHANGE' && event.node) {
      const next = `${event.node.host}:${event.node.port}`;
      if (currentPrimary && next !== currentPrimary) {
        metrics.primaryChanges.inc();
        logger.warn({ oldPrimary: currentPrimary, newPrimary: next }, 'redis primary changed');
      }
      currentPrimary = next;
    }
  });
  const ready = sentinel.connect().then(
    () => metrics.storeReady.set(1),
    (err: Error) => logger.error({ err: { message: err.message } }, 'redis sentinel connect failed'),
  );

  // Sentinel node clients take no default command options, so the bound is passed per command.
  const bounded = { timeout: s.commandTimeoutMs };
  const exec: RedisExec = {
    send: (args, opts) => sentinel.sendCommand(opts?.readonly ?? false, args, bounded) as Promise<never>,
  };

  return {
    backend: 'sentinel',
    exec,
    replicaExec: undefined,
    ready: ready.then(() => undefined),
    async durable(op, fn) {
      await ready;
      return sentinel.use(async (client) => {
        const leased: RedisExec = { send: (args) => client.sendCommand(false, args, bounded) as Promise<never> };
        const result = await fn(leased);
        await waitForReplicas(leased, op, s.waitReplicas, s.waitTimeoutMs);
        return result;
      });
    },
    async ping() {
      try {
        await sentinel.sendCommand(false, ['PING'], bounded);
        metrics.storeReady.set(1);
      } catch (err) {
        metrics.storeReady.set(0);
        throw classifyRedisError('ping', err);
      }
    },
    async close() {
      await sentinel.close().catch(() => {});
    },
  };
}
