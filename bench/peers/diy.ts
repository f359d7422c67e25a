// The do-it-yourself stack with our feature set, as a user would assemble it from the same
// packages: koa-session (signed cookie) + a plain node-redis store, koa-helmet (its defaults),
// a prom-client histogram of every request, and a per-session CSRF token (HMAC-SHA256 of the
// session key) handed out by GET /me and checked on unsafe methods.
import Koa from 'koa';
import session from 'koa-session';
import helmet from 'koa-helmet';
import { Histogram, Registry } from 'prom-client';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { plainRedisStore } from './plain-store.js';

const store = await plainRedisStore('peer:diy:');

const registry = new Registry();
const http = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP latency', labelNames: ['method', 'route', 'status'], registers: [registry] });
const CSRF_KEY = process.env.SESSION_KEY ?? 'peer-key-0123456789-0123456789-0123';
const csrfFor = (sid: string) => createHmac('sha256', CSRF_KEY).update(sid).digest('base64url');

const app = new Koa();
app.keys = [CSRF_KEY];
app.use(async (ctx, next) => {
  const end = http.startTimer({ method: ctx.method });
  try {
    await next();
  } finally {
    end({ route: ctx.path === '/me' || ctx.path === '/login' ? ctx.path : 'other', status: String(ctx.status) });
  }
});
app.use(helmet());
app.use(session({ store, key: 'sid', maxAge: 30 * 60_000, httpOnly: true, sameSite: 'lax', signed: true }, app));
app.use(async (ctx) => {
  const s = ctx.session as unknown as ({ user?: { id: string; email: string }; sid?: string }) | null;
  if (ctx.method === 'POST' && ctx.path === '/login') {
    s!.user = { id: randomBytes(16).toString('base64url'), email: 'peer.diy.user@example.com' };
    s!.sid = randomBytes(16).toString('base64url');
    ctx.body = { user: s!.user, csrfToken: csrfFor(s!.sid) };
  } else if (ctx.method === 'GET' && ctx.path === '/me') {
    if (!s?.user || !s.sid) {
      ctx.status = 401;
      ctx.body = { error: { code: 'UNAUTHENTICATED', message: 'no session' } };
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { user: s.user, csrfToken: csrfFor(s.sid) };
  } else if (ctx.method === 'POST' && ctx.path === '/logout') {
    const given = Buffer.from(ctx.get('x-csrf-token'));
    const want = Buffer.from(s?.sid ? csrfFor(s.sid) : '');
    if (!s?.sid || given.length !== want.length || !timingSafeEqual(given, want)) {
      ctx.status = 403;
      ctx.body = { error: { code: 'CSRF_TOKEN_INVALID', message: 'bad token' } };
      return;
    }
    ctx.session = null;
    ctx.status = 204;
  } else if (ctx.path === '/metrics') {
    ctx.body = await registry.metrics();
  } else if (ctx.path === '/healthz') {
    ctx.body = { status: 'ok' };
  } else {
    ctx.status = 404;
  }
});
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
