/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are whatever the test expects */
/**
 * A minimal browser stand-in: a cookie jar (honouring deletions), the CSRF token it was handed,
 * and JSON helpers. Deliberately not a library: tests need to see and tamper with raw cookies.
 */
export interface Res<T = any> {
  status: number;
  body: T;
  headers: Headers;
  setCookies: string[];
}

export class Browser {
  readonly jar = new Map<string, string>();
  csrf: string | undefined;
  constructor(
    readonly base: string,
    readonly defaults: Record<string, string> = {},
  ) {}

  cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request<T = any>(
    method: string,
    path: string,
    opts: { json?: unknown; body?: string; headers?: Record<string, string>; csrf?: boolean } = {},
  ): Promise<Res<T>> {
    const headers: Record<string, string> = { ...this.defaults, ...(opts.headers ?? {}) };
    if (this.jar.size) headers.cookie = this.cookieHeader();
    let body: string | undefined = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] ??= 'application/json';
    }
    if (opts.csrf !== false && this.csrf && method !== 'GET') headers['x-csrf-token'] ??= this.csrf;
    const r = await fetch(this.base + path, { method, headers, body, redirect: 'manual' });
    const setCookies = r.headers.getSetCookie();
    for (const c of setCookies) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (metrics text); keep raw
    }
    if (parsed && typeof parsed === 'object' && 'csrfToken' in parsed) this.csrf = (parsed as { csrfToken: string }).csrfToken;
    return { status: r.status, body: parsed as T, headers: r.headers, setCookies };
  }

  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, { headers });
  }
  post<T = any>(path: string, json?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, { json, headers });
  }
  delete<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('DELETE', path, { headers });
  }

  register(email: string, password: string) {
    return this.post('/auth/register', { email, password });
  }
  login(email: string, password: string) {
    return this.post('/auth/login', { email, password });
  }
}

let counter = 0;
/** A unique email per call, so tests sharing a store never collide. */
export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${process.pid}-${Date.now()}-${++counter}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';
