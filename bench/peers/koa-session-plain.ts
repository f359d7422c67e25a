// Peer: koa-session with the README-style external store over a plain node-redis client
// (get/set/destroy JSON). Same work as GET /auth/me: cookie -> Redis lookup -> 200 JSON user.
import Koa from 'koa';
import session from 'koa-session';
import { randomBytes } from 'node:crypto';
import { plainRedisStore } from './plain-store.js';

const store = await plainRedisStore('peer:koa:');

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
