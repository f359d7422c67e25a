// helm test: register -> login -> GET /auth/me through the Service, with node:http only (no
// fetch: it may add Origin/Sec-Fetch-* headers; requests without them are non-browser clients
// and pass the CSRF origin check, see docs/contracts.md).
import http from 'node:http';
import { randomBytes } from 'node:crypto';

const base = new URL(process.env.BASE_URL ?? 'http://session-auth');
const email = `helm-test-${Date.now()}-${randomBytes(4).toString('hex')}@example.test`;
const password = randomBytes(18).toString('base64url');

function request(method, path, { body, cookie } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: base.hostname,
        port: base.port || 80,
        method,
        path,
        timeout: 10_000,
        headers: {
          accept: 'application/json',
          // In-cluster traffic is plain HTTP; in production the edge terminates TLS. With
          // TRUST_PROXY=true this lets a Secure session cookie be issued to the test as it would be
          // behind the ingress (ignored when the proxy is not trusted or COOKIE_SECURE=false).
          'x-forwarded-proto': 'https',
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          ...(cookie ? { cookie } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let json;
          try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
          resolve({ status: res.statusCode, headers: res.headers, json, text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

function check(cond, msg, res) {
  if (!cond) {
    console.error(`FAIL: ${msg}${res ? ` (status ${res.status}: ${res.text.slice(0, 300)})` : ''}`);
    process.exit(1);
  }
  console.log(`ok: ${msg}`);
}

async function retry(fn, attempts = 30) {
  for (let i = 1; ; i++) {
    try {
      const res = await fn();
      if (res.status < 500 || i >= attempts) return res;
    } catch (err) {
      if (i >= attempts) throw err;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

const ready = await retry(() => request('GET', '/readyz'));
check(ready.status === 200, 'GET /readyz is 200', ready);

const reg = await retry(() => request('POST', '/auth/register', { body: { email, password } }));
check(reg.status === 201, 'POST /auth/register is 201', reg);

// Retried like the register: right after an install a Sentinel election or a replica still
// syncing can refuse a durable write (503) for a moment; a lasting 5xx still fails the test.
const login = await retry(() => request('POST', '/auth/login', { body: { email, password } }));
check(login.status === 200, 'POST /auth/login is 200', login);
const setCookie = login.headers['set-cookie'] ?? [];
check(setCookie.length > 0, 'login sets a session cookie', login);
const cookie = setCookie.map((c) => c.split(';')[0]).join('; ');

const me = await request('GET', '/auth/me', { cookie });
check(me.status === 200, 'GET /auth/me with the cookie is 200', me);
check(me.json?.user?.email === email, 'GET /auth/me returns the registered user', me);
check(typeof me.json?.csrfToken === 'string', 'GET /auth/me returns a csrfToken', me);

const anon = await request('GET', '/auth/me');
check(anon.status === 401, 'GET /auth/me without a cookie is 401', anon);
console.log('session-auth smoke test passed');
