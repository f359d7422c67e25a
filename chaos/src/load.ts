/**
 * Steady load through the ingress by simulated users, each with its own cookie jar: mostly
 * GET /auth/me, some logouts, a login whenever a user has no session. Every request is recorded
 * (start, end, op, status, latency); a request still open after 3 s is aborted and counts as hung.
 *
 * The ledger remembers acknowledged sessions (login 200) and acknowledged revocations (logout 204)
 * so that verify() can check afterwards that every acked session still validates (else: lost)
 * and every revoked one stays 401 (else: undone). A user holds one session at a time; one that
 * was refused (401) is dropped from the jar but stays in the ledger, so the chaos cluster raises
 * SESSION_MAX_PER_USER far above what a run creates and no eviction passes for a loss. A password change
 * (passwordChange) adds acknowledged revocations too: every other session of the user, and the
 * token its own session was rotated away from.
 */
import { randomBytes } from 'node:crypto';
import { sleep } from './util.js';

export type Op = 'login' | 'me' | 'logout' | 'register' | 'verify' | 'password';

export interface Sample {
  /** epoch ms */
  t0: number;
  t1: number;
  op: Op;
  /** HTTP status; 0 = network error; -1 = aborted at the request timeout (hung). */
  status: number;
  ok: boolean;
  user: number;
  code?: string;
  /** The app replica that answered (the ingress's x-backend header), when known. */
  backend?: string;
}

export const REQUEST_TIMEOUT_MS = 3_000;
const EXPECTED: Record<Op, number> = { login: 200, me: 200, logout: 204, register: 201, verify: 200, password: 200 };

export interface SimUser {
  index: number;
  email: string;
  password: string;
  cookies: Map<string, string>;
  csrf?: string;
  /** ledger id of the session the jar holds */
  sessionId?: number;
  /** The account id the service answered with (cluster: it carries the user's slot tag). */
  userId?: string;
}

export interface LedgerEntry {
  id: number;
  user: number;
  cookie: string;
  ackedAt: number;
  state: 'live' | 'revoked' | 'ambiguous';
  revokedAt?: number;
  /** The app replica that acknowledged the session / the revocation. */
  backend?: string;
  revokedBy?: string;
}

/** An acknowledged password change: from then on `previous` must be refused. */
export interface PasswordChange {
  user: number;
  email: string;
  previous: string;
  current: string;
  ackedAt: number;
  backend?: string;
}

export class Client {
  readonly samples: Sample[] = [];
  readonly ledger: LedgerEntry[] = [];
  readonly passwordChanges: PasswordChange[] = [];
  /** user -> the new password of a change that failed with a store error (it may have happened). */
  readonly ambiguousPasswords = new Map<number, string>();
  record = true;

  /** `headers`: sent with every request (e.g. x-forwarded-proto where no TLS edge sits in front). */
  constructor(
    readonly baseUrl: string,
    private readonly headers: Readonly<Record<string, string>> = {},
  ) {}

  async request(
    op: Op,
    user: SimUser | undefined,
    method: string,
    path: string,
    body?: unknown,
    cookie?: string,
  ): Promise<{ status: number; json: unknown; setCookies: string[]; backend?: string }> {
    const headers: Record<string, string> = { ...this.headers, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const jar = cookie ?? (user ? cookieHeader(user.cookies) : '');
    if (jar) headers.cookie = jar;
    if (user?.csrf && method !== 'GET' && cookie === undefined) headers['x-csrf-token'] = user.csrf;
    const t0 = Date.now();
    let status = 0;
    let json: unknown;
    let setCookies: string[] = [];
    let code: string | undefined;
    let backend: string | undefined;
    try {
      const res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      status = res.status;
      setCookies = res.headers.getSetCookie();
      backend = res.headers.get('x-backend') ?? undefined;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      const err = (json as { error?: { code?: string } } | undefined)?.error;
      if (err?.code) code = err.code;
    } catch (err) {
      const name = (err as Error).name;
      status = name === 'TimeoutError' || name === 'AbortError' ? -1 : 0;
      code = status === -1 ? 'HUNG' : ((err as { cause?: { code?: string } }).cause?.code ?? 'NETWORK');
    }
    const t1 = Date.now();
    if (this.record) {
      const sample: Sample = { t0, t1, op, status, ok: status === EXPECTED[op], user: user?.index ?? -1 };
      if (code) sample.code = code;
      if (backend) sample.backend = backend;
      this.samples.push(sample);
    }
    return { status, json, setCookies, ...(backend ? { backend } : {}) };
  }

  async register(user: SimUser): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const r = await this.request('register', user, 'POST', '/auth/register', { email: user.email, password: user.password });
      if (r.status === 201 || r.status === 409) return;
      await sleep(200);
    }
    throw new Error(`could not register ${user.email}`);
  }

  async login(user: SimUser): Promise<boolean> {
    const r = await this.request('login', user, 'POST', '/auth/login', { email: user.email, password: user.password }, '');
    if (r.status !== 200) return false;
    user.cookies.clear();
    applySetCookies(user.cookies, r.setCookies);
    user.csrf = (r.json as { csrfToken?: string }).csrfToken;
    user.userId = (r.json as { user?: { id?: string } }).user?.id ?? user.userId;
    const entry: LedgerEntry = { id: this.ledger.length, user: user.index, cookie: cookieHeader(user.cookies), ackedAt: Date.now(), state: 'live', backend: r.backend };
    this.ledger.push(entry);
    user.sessionId = entry.id;
    return true;
  }

  async me(user: SimUser): Promise<number> {
    const r = await this.request('me', user, 'GET', '/auth/me');
    if (r.status === 200) user.csrf = (r.json as { csrfToken?: string }).csrfToken ?? user.csrf;
    if (r.status === 401) dropSession(user); // lost (or expired): the user logs in again
    return r.status;
  }

  async logout(user: SimUser): Promise<number> {
    const r = await this.request('logout', user, 'POST', '/auth/logout', undefined);
    const entry = user.sessionId === undefined ? undefined : this.ledger[user.sessionId];
    if (entry) {
      if (r.status === 204) {
        entry.state = 'revoked';
        entry.revokedAt = Date.now();
        entry.revokedBy = r.backend;
      } else if (r.status !== 401) {
        // 503/timeout: the revoke may or may not have happened; neither lost nor undone can be judged.
        entry.state = 'ambiguous';
      }
    }
    dropSession(user);
    return r.status;
  }

  /**
   * Logs `user` in on `others` more browsers, then changes its password from its own session. On
   * 200 the other sessions and the token rotated out are acknowledged revocations and the new
   * token a live session; on a store error all of them are ambiguous (the change may or may not
   * have happened). Returns the status and how many sessions the service said it revoked.
   */
  async passwordChange(user: SimUser, others = 2): Promise<{ status: number; revoked: number }> {
    if (user.sessionId === undefined && !(await this.login(user))) return { status: 0, revoked: 0 };
    const twins: LedgerEntry[] = [];
    for (let i = 0; i < others; i += 1) {
      const twin: SimUser = { ...user, cookies: new Map(), csrf: undefined, sessionId: undefined };
      if (await this.login(twin)) twins.push(this.ledger[twin.sessionId!]!);
    }
    const own = this.ledger[user.sessionId!]!;
    const newPassword = `pw-${randomBytes(9).toString('base64url')}`;
    const r = await this.request('password', user, 'POST', '/auth/password', { currentPassword: user.password, newPassword });
    if (r.status === 200) {
      const at = Date.now();
      for (const e of [own, ...twins]) {
        e.state = 'revoked';
        e.revokedAt = at;
        e.revokedBy = r.backend;
      }
      this.passwordChanges.push({ user: user.index, email: user.email, previous: user.password, current: newPassword, ackedAt: at, backend: r.backend });
      user.password = newPassword;
      applySetCookies(user.cookies, r.setCookies);
      user.csrf = (r.json as { csrfToken?: string }).csrfToken;
      const entry: LedgerEntry = { id: this.ledger.length, user: user.index, cookie: cookieHeader(user.cookies), ackedAt: at, state: 'live', backend: r.backend };
      this.ledger.push(entry);
      user.sessionId = entry.id;
      return { status: 200, revoked: (r.json as { revoked?: number }).revoked ?? 0 };
    }
    if (r.status !== 401 && r.status !== 403) {
      for (const e of [own, ...twins]) e.state = 'ambiguous';
      this.ambiguousPasswords.set(user.index, newPassword);
    }
    if (r.status === 401) dropSession(user);
    return { status: r.status, revoked: 0 };
  }
}

function dropSession(user: SimUser): void {
  user.cookies.clear();
  user.csrf = undefined;
  user.sessionId = undefined;
}

export function cookieHeader(jar: Map<string, string>): string {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** Minimal Set-Cookie handling: name=value; an empty value or a past Expires/Max-Age=0 deletes. */
export function applySetCookies(jar: Map<string, string>, setCookies: string[]): void {
  for (const sc of setCookies) {
    const [pair = '', ...attrs] = sc.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attrs.some((a) => {
      const [k = '', v = ''] = a.split('=').map((s) => s.trim());
      if (k.toLowerCase() === 'max-age') return Number(v) <= 0;
      if (k.toLowerCase() === 'expires') return Date.parse(v) <= Date.now();
      return false;
    });
    if (!value || expired) jar.delete(name);
    else jar.set(name, value);
  }
}

export function makeUsers(n: number, runId = randomBytes(4).toString('hex')): SimUser[] {
  return Array.from({ length: n }, (_, index) => ({
    index,
    email: `chaos-${runId}-${index}@example.test`,
    password: `pw-${randomBytes(9).toString('base64url')}`,
    cookies: new Map<string, string>(),
  }));
}

export interface LoadOptions {
  /** Probability that a logged-in user's next request is a logout (then a login follows). */
  logoutProbability?: number;
  thinkMs?: [number, number];
}

export interface LoadRun {
  stop(): Promise<void>;
}

/** Starts one loop per user; stop() ends them (each finishes its current request, bounded by the 3 s timeout). */
export function startLoad(client: Client, users: SimUser[], opts: LoadOptions = {}): LoadRun {
  const pLogout = opts.logoutProbability ?? 0.04;
  const [thinkMin, thinkMax] = opts.thinkMs ?? [60, 140];
  let running = true;
  const loops = users.map(async (user) => {
    await sleep(Math.random() * thinkMax); // spread the starts
    while (running) {
      if (user.sessionId === undefined) {
        const ok = await client.login(user);
        if (!ok) await sleep(100); // back off a little after a failed login
      } else if (Math.random() < pLogout) {
        await client.logout(user);
      } else {
        await client.me(user);
      }
      await sleep(thinkMin + Math.random() * (thinkMax - thinkMin));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Password changes under the load: each user changes its password every `intervalMs`. A change
 * that failed with a store error may or may not have happened; that user stops changing (its
 * password is unknown), and only its acknowledged changes are verified.
 */
export function startPasswordChanges(client: Client, users: SimUser[], intervalMs = 700): LoadRun {
  let running = true;
  const loops = users.map(async (user, i) => {
    await sleep((intervalMs / users.length) * i);
    while (running) {
      const r = await client.passwordChange(user, 0);
      if (r.status !== 200 && r.status !== 0 && r.status !== 401) return;
      await sleep(intervalMs);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * An account has one password at a time, so the password it accepts now tells how many of its
 * acknowledged changes (since `since`) held: trying the chain newest first, the first that logs
 * in (200) is where the account stands, and every acknowledged change after it was undone. The
 * target of a change that failed with a store error is tried first (it may have happened: then
 * nothing was undone). None accepted: unknown.
 */
export async function verifyPasswordChanges(
  client: Client,
  since: number,
): Promise<{ changes: number; undone: number; unknown: number; undoneChanges: { at: number; backend?: string | undefined }[] }> {
  const recent = client.passwordChanges.filter((c) => c.ackedAt >= since);
  const chains = new Map<number, PasswordChange[]>();
  for (const c of recent) chains.set(c.user, [...(chains.get(c.user) ?? []), c]);
  let undone = 0;
  let unknown = 0;
  const undoneChanges: { at: number; backend?: string | undefined }[] = [];
  const wasRecording = client.record;
  client.record = false;
  const accepts = async (email: string, password: string): Promise<boolean> => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const r = await client.request('verify', undefined, 'POST', '/auth/login', { email, password }, '');
      if (r.status === 401) return false;
      if (r.status === 200) {
        // Log the probe's session out again: the user's next password change must find only its own sessions.
        const probe: SimUser = { index: -1, email, password, cookies: new Map(), csrf: (r.json as { csrfToken?: string }).csrfToken };
        applySetCookies(probe.cookies, r.setCookies);
        await client.request('verify', probe, 'POST', '/auth/logout');
        return true;
      }
      await sleep(300);
    }
    return false;
  };
  try {
    for (const [user, chain] of chains) {
      const email = chain[0]!.email;
      const pending = client.ambiguousPasswords.get(user);
      if (pending !== undefined && (await accepts(email, pending))) continue;
      // passwords newest first: chain[n-1].current, ..., chain[0].current, chain[0].previous
      const passwords = [...chain.map((c) => c.current).reverse(), chain[0]!.previous];
      let held = -1;
      for (let i = 0; i < passwords.length && held < 0; i += 1) if (await accepts(email, passwords[i]!)) held = i;
      if (held < 0) unknown += 1;
      else {
        undone += held;
        for (const c of chain.slice(chain.length - held)) undoneChanges.push({ at: c.ackedAt, backend: c.backend });
      }
    }
  } finally {
    client.record = wasRecording;
  }
  return { changes: recent.length, undone, unknown, undoneChanges };
}

export interface VerifyResult {
  ackedSessions: number;
  lost: number[];
  revocations: number;
  undone: number[];
  ambiguous: number;
  unknown: number;
}

/**
 * Checks every ledger entry acked at or after `since` (ids in `skip` are not re-counted): live
 * ones must answer 200 on /auth/me, revoked ones 401. Store errors are retried (bounded) and
 * counted as unknown when they persist.
 */
export async function verifyLedger(client: Client, opts: { since?: number; skip?: Set<number>; concurrency?: number } = {}): Promise<VerifyResult> {
  const entries = client.ledger.filter((e) => e.ackedAt >= (opts.since ?? 0) && !opts.skip?.has(e.id));
  const result: VerifyResult = { ackedSessions: 0, lost: [], revocations: 0, undone: [], ambiguous: 0, unknown: 0 };
  const queue = [...entries];
  const worker = async (): Promise<void> => {
    for (let e = queue.shift(); e; e = queue.shift()) {
      if (e.state === 'ambiguous') {
        result.ambiguous += 1;
        continue;
      }
      let status = 0;
      for (let attempt = 0; attempt < 3; attempt += 1) {
        status = (await client.request('verify', undefined, 'GET', '/auth/me', undefined, e.cookie)).status;
        if (status === 200 || status === 401) break;
        await sleep(300);
      }
      if (e.state === 'live') {
        result.ackedSessions += 1;
        if (status === 401) result.lost.push(e.id);
        else if (status !== 200) result.unknown += 1;
      } else {
        result.revocations += 1;
        if (status === 200) result.undone.push(e.id);
        else if (status !== 401) result.unknown += 1;
      }
    }
  };
  const wasRecording = client.record;
  client.record = false;
  try {
    await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
  } finally {
    client.record = wasRecording;
  }
  return result;
}
