// The session-auth API as a k6 client: user pool setup, login (keeps the CSRF token), /auth/me,
// logout. Every VU has its own cookie jar (k6's default per-VU jar), so each VU is one browser.
import http, { type RefinedResponse, type ResponseType } from 'k6/http';
import { check, fail } from 'k6';
import { Counter } from 'k6/metrics';
import { BASE_URL, envNum, envStr } from './config.ts';

export interface Credentials {
  email: string;
  password: string;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };
const REQUEST_TIMEOUT = envStr('REQUEST_TIMEOUT', '10s');
const alreadyOk = http.expectedStatuses(201, 409);

/** Logins answered 429: the per-IP/per-account throttle, not the service failing (see k6/README.md). */
export const loginThrottled = new Counter('login_throttled');

/**
 * Registers `size` users (409 = already there from an earlier run, fine: the password is fixed).
 * Runs in setup(); batches of a few at a time so argon2's bounded queue never answers 503 BUSY.
 */
export function registerPool(size = envNum('USERS', 50)): Credentials[] {
  const prefix = envStr('USER_PREFIX', 'k6');
  const password = envStr('USER_PASSWORD', 'k6-load-test-password');
  const users: Credentials[] = [];
  for (let i = 0; i < size; i++) users.push({ email: `${prefix}.user${String(i).padStart(4, '0')}@example.com`, password });
  const batch = envNum('REGISTER_BATCH', 4);
  for (let i = 0; i < users.length; i += batch) {
    const slice = users.slice(i, i + batch);
    const responses = http.batch(
      slice.map((u) => ({
        method: 'POST',
        url: `${BASE_URL}/auth/register`,
        body: JSON.stringify(u),
        // 409: registered by an earlier run; not a failure.
        params: { headers: JSON_HEADERS, tags: { name: 'register' }, timeout: '30s', responseCallback: alreadyOk },
      })),
    );
    responses.forEach((r, j) => {
      if (r.status !== 201 && r.status !== 409) {
        fail(`setup: registering ${slice[j]!.email} at ${BASE_URL} failed: status ${r.status} ${r.error || r.body}`);
      }
    });
  }
  return users;
}

/** The credentials this VU logs in with: VUs share the pool round-robin. */
export function credentialsFor(users: Credentials[]): Credentials {
  if (users.length === 0) fail('empty user pool');
  return users[(__VU - 1) % users.length]!;
}

/** Per-VU session state (module scope is per VU in k6). */
export const session = { csrf: '' as string, loggedIn: false };

function ok(r: RefinedResponse<ResponseType | undefined>, name: string, status: number): boolean {
  return check(r, { [`${name} ${status}`]: (res) => res.status === status });
}

export function login(creds: Credentials, tags: Record<string, string> = {}): boolean {
  const r = http.post(`${BASE_URL}/auth/login`, JSON.stringify(creds), {
    headers: JSON_HEADERS,
    tags: { name: 'login', ...tags },
    timeout: REQUEST_TIMEOUT,
  });
  if (r.status === 429) loginThrottled.add(1);
  const good = ok(r, 'login', 200);
  if (good) {
    const token = (r.json('csrfToken') as string | null) ?? '';
    session.csrf = token;
    session.loggedIn = token !== '';
  } else {
    session.loggedIn = false;
  }
  return good;
}

export function me(tags: Record<string, string> = {}): boolean {
  const r = http.get(`${BASE_URL}/auth/me`, { tags: { name: 'me', ...tags }, timeout: REQUEST_TIMEOUT });
  const good = ok(r, 'me', 200);
  if (r.status === 401) session.loggedIn = false;
  return good;
}

export function logout(tags: Record<string, string> = {}): boolean {
  const r = http.post(`${BASE_URL}/auth/logout`, null, {
    headers: { 'x-csrf-token': session.csrf },
    tags: { name: 'logout', ...tags },
    timeout: REQUEST_TIMEOUT,
  });
  session.loggedIn = false;
  session.csrf = '';
  return ok(r, 'logout', 204);
}

/**
 * One iteration of the steady mix: ~90% GET /auth/me, ~7% login, ~3% logout. A VU without a
 * session logs in first (that login is the iteration's request).
 */
export function mixedIteration(creds: Credentials, mix = { me: 0.9, login: 0.07 }): void {
  if (!session.loggedIn) {
    login(creds);
    return;
  }
  const r = Math.random();
  if (r < mix.me) me();
  else if (r < mix.me + mix.login) login(creds);
  else logout();
}
