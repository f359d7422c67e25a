// A cookie-keeping client for the auth API, as a browser would be: it keeps the session cookie
// the server sets and the CSRF token login returns, and sends both back. Cookie handling is the
// chaos load driver's, so both clients read Set-Cookie the same way.
import { applySetCookies, cookieHeader } from '../../../chaos/src/load.js';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export class AuthClient {
  private readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(readonly baseUrl: string) {}

  async call(method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookies.size) headers.cookie = cookieHeader(this.cookies);
    if (this.csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    const r = await fetch(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    applySetCookies(this.cookies, r.headers.getSetCookie());
    const text = await r.text();
    const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (typeof parsed.csrfToken === 'string') this.csrf = parsed.csrfToken;
    return { status: r.status, body: parsed };
  }

  register(email: string, password: string): Promise<Answer> {
    return this.call('POST', '/auth/register', { email, password });
  }
  login(email: string, password: string): Promise<Answer> {
    return this.call('POST', '/auth/login', { email, password });
  }
  me(): Promise<Answer> {
    return this.call('GET', '/auth/me');
  }
}
