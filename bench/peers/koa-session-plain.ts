// Peer: koa-session with the README-style external store over a plain node-redis client
// (get/set/destroy JSON). Same work as GET /auth/me: cookie -> Redis lookup -> 200 JSON user.
import Koa from 'koa';
import session from 'koa-session';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';

const client = createClient({ url: process.env.REDIS_URL });
client.on('error', (err: Error) => console.error('redis', err.message));
await client.connect();

const PREFIX = 'peer:koa:';
const store = {
  async get(key: string) {
    const v = await client.get(PREFIX + key);
    return v ? (JSON.parse(v) as Record<string, unknown>) : undefined;
  },
  async set(key: string, sess: unknown, maxAge: number | 'session' | undefined) {
    await client.set(PREFIX + key, JSON.stringify(sess), typeof maxAge === 'number' ? { PX: maxAge } : {});
  },
  async destroy(key: string) {
    await client.del(PREFIX + key);
  },
};

const app = new Koa();
app.keys = [process.env.SESSION_KEY ?? 'peer-key-0123456789-0123456789-0123'];
app.use(session({ store, key: 'sid', maxAge: 30 * 60_000, httpOnly: true, sameSite: 'lax', signed: true }, app));
app.use(async (ctx) => {
  const s = ctx.session as unknown as { user?: { id: string; email: string } } | null;
  if (ctx.method === 'POST' && ctx.path === '/login') {
    s!.user = { id: randomBytes(16).toString('base64url'), email: 'peer.koa.user@example.com' };
    ctx.body = { user: s!.user };
  } else if (ctx.method === 'GET' && ctx.path === '/me') {
    if (!s?.user) {
      ctx.status = 401;
      ctx.body = { error: { code: 'UNAUTHENTICATED', message: 'no session' } };
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { user: s.user };
  } else if (ctx.path === '/healthz') {
    ctx.body = { status: 'ok' };
  } else {
    ctx.status = 404;
  }
});
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
