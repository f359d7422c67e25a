// Floor: the least any stateful validation can do on Koa. Read the cookie (unsigned), exactly one
// node-redis GET, 200 JSON. No signature, no headers, no metrics, no CSRF: what is left is the
// HTTP server, Koa and one Redis round trip.
import Koa from 'koa';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';

const client = createClient({ url: process.env.REDIS_URL });
client.on('error', (err: Error) => console.error('redis', err.message));
await client.connect();
const PREFIX = 'peer:floor:';

const app = new Koa();
app.use(async (ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/me') {
    const sid = ctx.cookies.get('sid');
    const v = sid ? await client.get(PREFIX + sid) : null;
    if (!v) {
      ctx.status = 401;
      ctx.body = { error: { code: 'UNAUTHENTICATED', message: 'no session' } };
      return;
    }
    ctx.body = { user: JSON.parse(v) as unknown };
  } else if (ctx.method === 'POST' && ctx.path === '/login') {
    const sid = randomBytes(32).toString('base64url');
    const user = { id: randomBytes(16).toString('base64url'), email: 'peer.floor.user@example.com' };
    await client.set(PREFIX + sid, JSON.stringify(user), { PX: 30 * 60_000 });
    ctx.cookies.set('sid', sid, { httpOnly: true, sameSite: 'lax', signed: false });
    ctx.body = { user };
  } else if (ctx.path === '/healthz') {
    ctx.body = { status: 'ok' };
  } else {
    ctx.status = 404;
  }
});
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
