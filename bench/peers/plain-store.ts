// The README-style koa-session external store over a plain node-redis client (get/set/destroy
// JSON), shared by the peers that stand for "what a user assembles": one definition, so the
// koa-session-plain and DIY contenders differ only in what they add on top.
import { createClient } from 'redis';

export async function plainRedisStore(prefix: string) {
  const client = createClient({ url: process.env.REDIS_URL });
  client.on('error', (err: Error) => console.error('redis', err.message));
  await client.connect();
  return {
    async get(key: string) {
      const v = await client.get(prefix + key);
      return v ? (JSON.parse(v) as Record<string, unknown>) : undefined;
    },
    async set(key: string, sess: unknown, maxAge: number | 'session' | undefined) {
      await client.set(prefix + key, JSON.stringify(sess), typeof maxAge === 'number' ? { PX: maxAge } : {});
    },
    async destroy(key: string) {
      await client.del(prefix + key);
    },
  };
}
