import { startStandalone, type Standalone } from '@session-auth/topology';

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
