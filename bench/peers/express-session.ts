// Peer: express-session + connect-redis over node-redis, with the documented defaults
// (resave false, saveUninitialized false; connect-redis touches the TTL on every request).
import express from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';

declare module 'express-session' {
  interface SessionData {
    user?: { id: string; email: string };
  }
}

const client = createClient({ url: process.env.REDIS_URL });
client.on('error', (err: Error) => console.error('redis', err.message));
await client.connect();

const app = express();
app.disable('x-powered-by');
app.use(
  session({
    store: new RedisStore({ client, prefix: 'peer:exp:' }),
    secret: process.env.SESSION_KEY ?? 'peer-key-0123456789-0123456789-0123',
    name: 'sid',
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: 30 * 60_000 },
  }),
);
app.post('/login', (req, res) => {
  req.session.user = { id: randomBytes(16).toString('base64url'), email: 'peer.exp.user@example.com' };
  res.json({ user: req.session.user });
});
app.get('/me', (req, res) => {
  if (!req.session.user) {
    res.status(401).json({ error: { code: 'UNAUTHENTICATED', message: 'no session' } });
    return;
  }
  res.set('Cache-Control', 'no-store');
  res.json({ user: req.session.user });
});
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
