// Peer: better-auth with its sessions in Redis (secondary storage over node-redis, the
// documented get/set/delete interface), users in its memory adapter, email + password sign-in.
// GET /me calls the documented server API auth.api.getSession({ headers }). BA_COOKIE_CACHE=1
// turns on session.cookieCache (a signed copy of the session in a cookie, trusted for its maxAge
// without a store read: a revoked session stays valid on every server until it runs out).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { createClient } from 'redis';

const client = createClient({ url: process.env.REDIS_URL });
client.on('error', (err: Error) => console.error('redis', err.message));
await client.connect();
const PREFIX = 'peer:ba:';
const cookieCache = process.env.BA_COOKIE_CACHE === '1';
const base = `http://127.0.0.1:${process.env.PORT}`;

const auth = betterAuth({
  baseURL: base,
  secret: process.env.SESSION_KEY ?? 'peer-key-0123456789-0123456789-0123',
  database: memoryAdapter({ user: [], session: [], account: [], verification: [] }),
  secondaryStorage: {
    get: (key) => client.get(PREFIX + key),
    getAndDelete: (key) => client.getDel(PREFIX + key),
    increment: async (key, ttl) => {
      const n = await client.incr(PREFIX + key);
      if (n === 1) await client.expire(PREFIX + key, ttl);
      return n;
    },
    set: async (key, value, ttl) => {
      await (ttl ? client.set(PREFIX + key, value, { EX: ttl }) : client.set(PREFIX + key, value));
    },
    delete: async (key) => {
      await client.del(PREFIX + key);
    },
  },
  emailAndPassword: { enabled: true },
  session: cookieCache ? { cookieCache: { enabled: true, maxAge: 5 * 60 } } : {},
  telemetry: { enabled: false },
});

const EMAIL = 'peer.ba.user@example.com';
const PASSWORD = 'correct horse battery staple';
await auth.api.signUpEmail({ body: { email: EMAIL, password: PASSWORD, name: 'Peer' } });

function headersOf(req: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') h.set(k, v);
  return h;
}

function send(res: ServerResponse, status: number, body: unknown, setCookie: string[] = []) {
  const s = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(s),
    'cache-control': 'no-store',
    ...(setCookie.length ? { 'set-cookie': setCookie } : {}),
  });
  res.end(s);
}

createServer((req, res) => {
  void (async () => {
    try {
      if (req.method === 'GET' && req.url === '/me') {
        const { headers, response } = await auth.api.getSession({ headers: headersOf(req), returnHeaders: true });
        if (!response) return send(res, 401, { error: { code: 'UNAUTHENTICATED', message: 'no session' } });
        send(res, 200, { user: { id: response.user.id, email: response.user.email } }, headers.getSetCookie());
      } else if (req.method === 'POST' && req.url === '/logout') {
        // Revocation, as a user's "log out" does it: the session leaves the store.
        const r = await auth.api.signOut({ headers: headersOf(req), asResponse: true });
        send(res, r.status, await r.json(), r.headers.getSetCookie());
      } else if (req.method === 'POST' && req.url === '/login') {
        const r = await auth.api.signInEmail({ body: { email: EMAIL, password: PASSWORD }, asResponse: true });
        send(res, r.status, await r.json(), r.headers.getSetCookie());
      } else if (req.url === '/healthz') {
        send(res, 200, { status: 'ok' });
      } else {
        send(res, 404, {});
      }
    } catch (err) {
      console.error((err as Error).message);
      send(res, 500, { error: { code: 'INTERNAL', message: 'error' } });
    }
  })();
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
