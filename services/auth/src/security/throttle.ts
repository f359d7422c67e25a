import type { RedisConnection } from '../redis/connection.js';
import { runScript } from '../redis/exec.js';
import { THROTTLE_CHECK, THROTTLE_IP_GIVE_BACK, THROTTLE_REFUND, THROTTLE_SUCCESS } from './throttle-scripts.js';
import { classifyRedisError } from '../redis/errors.js';
import { slotTag, tagged } from '../hash-tag.js';

export interface ThrottleLimits {
  readonly windowMs: number;
  readonly maxFailuresPerAccount: number;
  readonly maxFailuresPerAccountIp: number;
  readonly maxFailuresPerDevice: number;
  readonly backoffMaxMs: number;
  readonly maxAttemptsPerIp: number;
}

/** Which limit refused an attempt: the label of auth_login_throttled_total. */
export type ThrottleScope = 'ip' | 'account_ip' | 'account' | 'device';

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterMs: number; scope: ThrottleScope };

/** Who is attempting: the client IP and, when its device cookie is valid for this account, the device. */
export interface LoginClient {
  readonly ip: string;
  /** Nonce of a device cookie verified for this account (security/device-cookie.ts). */
  readonly device?: string | undefined;
}

/**
 * Login throttling that keeps guessing out without handing anyone a lockout button (OWASP's
 * "device cookies" and growing delays in place of a hard lock):
 *
 * - A browser that logged in to the account before (a valid device cookie) has its own budget,
 *   `maxFailuresPerDevice`, and nothing anyone else does touches it: the real user's login
 *   works during an attack from elsewhere.
 * - Every other client gets `maxFailuresPerAccountIp` per account and IP, under
 *   `maxFailuresPerAccount` for the account as a whole: many IPs do not multiply the guesses.
 * - Past a budget, attempts are not refused for a fixed lock but spaced: 1 s, 2 s, 4 s, ... up
 *   to `backoffMaxMs`. A scope is forgotten `windowMs` after its last attempt or delay.
 * - The per-IP count of every attempt, `maxAttemptsPerIp` per window, bounds one client's
 *   argon2 work across accounts; a device login does not count there, so a shared or attacked
 *   IP does not lock out a known browser either.
 *
 * Attempts count before the password is checked (counting after argon2 let a burst through).
 * A success clears the client's own scope (account+IP, or device) and takes its attempt back
 * from the account ceiling, but never clears the ceiling: the guesses counted there came from
 * elsewhere, and a real user logging in on a new browser must not hand the attacker a fresh
 * budget (the measurement in test/integration/lockout.test.ts found exactly that).
 */
export interface LoginThrottle {
  check(account: string, client: LoginClient): Promise<ThrottleDecision>;
  /** An attempt that only counts against the client IP (registration: it costs an argon2 hash too). */
  checkIp(ip: string): Promise<ThrottleDecision>;
  /** Gives back an attempt that was shed before its password was checked. */
  refund(account: string, client: LoginClient): Promise<void>;
  /** The password was right: clears this client's own scope and takes its attempt back from the ceiling. */
  reset(account: string, client: LoginClient): Promise<void>;
}

interface ScopeRef {
  readonly scope: Exclude<ThrottleScope, 'ip'>;
  readonly key: string;
  readonly budget: number;
}

/**
 * Key names differ from the plain counters of the earlier throttle (`th:a:<email>`): during a
 * rolling upgrade an old string key under the same name would make the hash commands fail.
 */
function scopesFor(limits: ThrottleLimits, account: string, client: LoginClient): ScopeRef[] {
  if (client.device) return [{ scope: 'device', key: `dev:${account}:${client.device}`, budget: limits.maxFailuresPerDevice }];
  return [
    { scope: 'account_ip', key: `acip:${account}:${client.ip}`, budget: limits.maxFailuresPerAccountIp },
    { scope: 'account', key: `acct:${account}`, budget: limits.maxFailuresPerAccount },
  ];
}

/** The delay after the `count`-th attempt of a scope with `budget` free ones (mirrored in THROTTLE_CHECK). */
export function backoffDelayMs(count: number, budget: number, maxMs: number): number {
  return count < budget ? 0 : Math.min(1000 * 2 ** (count - budget), maxMs);
}

interface Backoff {
  c: number;
  n: number;
  p: number;
  t: number;
}

interface Window {
  count: number;
  resetAt: number;
}

export class MemoryLoginThrottle implements LoginThrottle {
  private readonly ips = new Map<string, Window>();
  private readonly scopes = new Map<string, Backoff>();
  constructor(
    private readonly limits: ThrottleLimits,
    private readonly now: () => number = Date.now,
  ) {}

  private ipWindow(ip: string): Window {
    const now = this.now();
    let w = this.ips.get(ip);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + this.limits.windowMs };
      this.ips.set(ip, w);
      if (this.ips.size > 100_000) for (const [k, v] of this.ips) if (v.resetAt <= now) this.ips.delete(k);
    }
    return w;
  }

  private live(key: string, now: number): Backoff {
    const b = this.scopes.get(key);
    if (!b || (b.c > 0 && now - Math.max(b.t, b.n) >= this.limits.windowMs)) return { c: 0, n: 0, p: 0, t: 0 };
    return b;
  }

  private attempt(ip: string | undefined, scopes: ScopeRef[]): ThrottleDecision {
    const now = this.now();
    const w = ip === undefined ? undefined : this.ipWindow(ip);
    if (w && w.count >= this.limits.maxAttemptsPerIp) return { allowed: false, retryAfterMs: w.resetAt - now, scope: 'ip' };
    const states = scopes.map((s) => this.live(s.key, now));
    for (const [i, b] of states.entries()) {
      if (now < b.n) return { allowed: false, retryAfterMs: b.n - now, scope: scopes[i]!.scope };
    }
    if (w) w.count++;
    for (const [i, b] of states.entries()) {
      const c = b.c + 1;
      const delay = backoffDelayMs(c, scopes[i]!.budget, this.limits.backoffMaxMs);
      this.scopes.set(scopes[i]!.key, { c, n: delay > 0 ? now + delay : b.n, p: b.n, t: now });
    }
    if (this.scopes.size > 100_000) this.prune(now);
    return { allowed: true };
  }

  private prune(now: number): void {
    for (const [k, b] of this.scopes) if (now - Math.max(b.t, b.n) >= this.limits.windowMs) this.scopes.delete(k);
  }

  async checkIp(ip: string): Promise<ThrottleDecision> {
    return this.attempt(ip, []);
  }

  async check(account: string, client: LoginClient): Promise<ThrottleDecision> {
    return this.attempt(client.device ? undefined : client.ip, scopesFor(this.limits, account, client));
  }

  async refund(account: string, client: LoginClient): Promise<void> {
    for (const s of scopesFor(this.limits, account, client)) {
      const b = this.scopes.get(s.key);
      if (b && b.c > 0) this.scopes.set(s.key, { ...b, c: b.c - 1, n: b.p });
    }
  }

  async reset(account: string, client: LoginClient): Promise<void> {
    const [own, ceiling] = scopesFor(this.limits, account, client);
    this.scopes.delete(own!.key);
    const b = ceiling && this.scopes.get(ceiling.key);
    if (ceiling && b && b.c > 0) {
      const c = b.c - 1;
      this.scopes.set(ceiling.key, { ...b, c, n: c < ceiling.budget ? 0 : b.n });
    }
  }
}

export class RedisLoginThrottle implements LoginThrottle {
  constructor(
    private readonly conn: RedisConnection,
    private readonly prefix: string,
    private readonly limits: ThrottleLimits,
    private readonly now: () => number = Date.now,
    /** Cluster mode: an account's scope keys share its slot tag; the IP key lives apart (see attempt). */
    private readonly slotTagged = false,
  ) {}

  private key(scopeKey: string, account?: string): string {
    return account !== undefined && this.slotTagged ? `${this.prefix}th:${tagged(slotTag(account))}${scopeKey}` : `${this.prefix}th:${scopeKey}`;
  }

  private async run(ip: string | undefined, account: string | undefined, scopes: ScopeRef[]): Promise<ThrottleDecision> {
    const keys = [...(ip === undefined ? [] : [this.key(`ip:${ip}`)]), ...scopes.map((s) => this.key(s.key, account))];
    const [allowed, retryAfterMs, denied] = await runScript<[number, number, number]>(this.conn.exec, THROTTLE_CHECK, keys, [
      this.now(),
      this.limits.windowMs,
      this.limits.backoffMaxMs,
      ip === undefined ? 0 : this.limits.maxAttemptsPerIp,
      ...scopes.map((s) => s.budget),
    ]);
    if (allowed === 1) return { allowed: true };
    return { allowed: false, retryAfterMs: Math.max(retryAfterMs, 1), scope: denied === 0 ? 'ip' : scopes[denied - 1]!.scope };
  }

  private async attempt(ip: string | undefined, account: string | undefined, scopes: ScopeRef[]): Promise<ThrottleDecision> {
    try {
      if (!this.slotTagged || ip === undefined || scopes.length === 0) return await this.run(ip, account, scopes);
      // Cluster: the IP count (shared by every account) and the account's scopes are in different
      // slots. The IP is counted first, then given back if the account refuses: a concurrent burst
      // can only be held back by the IP a little early, never let past it.
      const byIp = await this.run(ip, undefined, []);
      if (!byIp.allowed) return byIp;
      const byAccount = await this.run(undefined, account, scopes);
      if (!byAccount.allowed) await runScript(this.conn.exec, THROTTLE_IP_GIVE_BACK, [this.key(`ip:${ip}`)], []);
      return byAccount;
    } catch (err) {
      throw classifyRedisError('throttle', err);
    }
  }

  check(account: string, client: LoginClient): Promise<ThrottleDecision> {
    return this.attempt(client.device ? undefined : client.ip, account, scopesFor(this.limits, account, client));
  }

  checkIp(ip: string): Promise<ThrottleDecision> {
    return this.attempt(ip, undefined, []);
  }

  async refund(account: string, client: LoginClient): Promise<void> {
    try {
      await runScript(this.conn.exec, THROTTLE_REFUND, scopesFor(this.limits, account, client).map((s) => this.key(s.key, account)), []);
    } catch (err) {
      throw classifyRedisError('throttle', err);
    }
  }

  async reset(account: string, client: LoginClient): Promise<void> {
    const [own, ceiling] = scopesFor(this.limits, account, client);
    try {
      await runScript(this.conn.exec, THROTTLE_SUCCESS, [this.key(own!.key, account), ...(ceiling ? [this.key(ceiling.key, account)] : [])], [ceiling?.budget ?? 0]);
    } catch (err) {
      throw classifyRedisError('throttle', err);
    }
  }
}
