import { startStandalone, type SentinelTopology, type Standalone } from '@session-auth/topology';
import type { SentinelSettings } from '../../src/redis/sentinel.js';

/** A real redis-server on a free port for one test file. */
export async function withRedis(): Promise<Standalone> {
  return startStandalone({ name: 'test-redis' });
}

/** Raw command against a server, for assertions that look at what the store holds. */
export async function redisCommand(url: string, args: string[]): Promise<unknown> {
  const { createClient } = await import('redis');
  const c = createClient({ url });
  await c.connect();
  try {
    return await c.sendCommand(args);
  } finally {
    await c.close();
  }
}

/** The app's Sentinel settings for a test topology: the service's defaults where tests do not care, `overrides` where they do. */
export function sentinelSettings(topo: SentinelTopology, overrides: Partial<SentinelSettings> = {}): SentinelSettings {
  return {
    url: '',
    password: undefined,
    commandTimeoutMs: 500,
    connectTimeoutMs: 1000,
    waitReplicas: 1,
    waitTimeoutMs: 250,
    sentinels: topo.sentinelAddresses,
    masterName: topo.masterName,
    sentinelPassword: undefined,
    ...overrides,
  };
}
