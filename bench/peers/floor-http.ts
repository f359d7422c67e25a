// Floor without a framework: node:http, the cookie picked out of the header, exactly one
// node-redis GET, 200 JSON.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';

const client = createClient({ url: process.env.REDIS_URL });
client.on('error', (err: Error) => console.error('redis', err.message));
await client.connect();
const PREFIX = 'peer:floor:';
const SID = /(?:^|;\s*)sid=([^;]*)/;

const send = (res: import('node:http').ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(s), ...extra });
  res.end(s);
};

createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/me') {
    const sid = SID.exec(req.headers.cookie ?? '')?.[1];
    if (!sid) return send(res, 401, { error: { code: 'UNAUTHENTICATED', message: 'no session' } });
    client.get(PREFIX + sid).then(
      (v) => (v ? send(res, 200, { user: JSON.parse(v) as unknown }) : send(res, 401, { error: { code: 'UNAUTHENTICATED', message: 'no session' } })),
      () => send(res, 503, { error: { code: 'STORE_UNAVAILABLE', message: 'store down' } }),
    );
  } else if (req.method === 'POST' && req.url === '/login') {
    const sid = randomBytes(32).toString('base64url');
    const user = { id: randomBytes(16).toString('base64url'), email: 'peer.floor.user@example.com' };
    void client.set(PREFIX + sid, JSON.stringify(user), { PX: 30 * 60_000 }).then(() => send(res, 200, { user }, { 'set-cookie': `sid=${sid}; path=/; httponly; samesite=lax` }));
  } else if (req.url === '/healthz') {
    send(res, 200, { status: 'ok' });
  } else {
    send(res, 404, {});
  }
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
