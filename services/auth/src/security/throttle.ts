import type { RedisConnection } from '../redis/connection.js';
import { runScript } from '../redis/exec.js';
import { THROTTLE_CHECK, THROTTLE_REFUND } from '../redis/scripts.js';
import { classifyRedisError } from '../redis/errors.js';

export interface ThrottleLimits {
  readonly windowMs: number;
  readonly maxFailuresPerAccount: number;
  readonly maxAttemptsPerIp: number;
}

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Login throttling: every attempt counts against the client IP and against the account, in one
 * atomic step, before the password is checked; a successful login resets the account. Counting
 * the account only after a failed argon2 check let a burst of parallel guesses through. Fixed
 * windows that start at the first attempt.
 */
export interface LoginThrottle {
  check(account: string, ip: string): Promise<ThrottleDecision>;
  /** An attempt that only counts against the client IP (registration: it costs an argon2 hash too). */
  checkIp(ip: string): Promise<ThrottleDecision>;
  /** Gives back the account attempt of a login that was shed before its password was checked. */
  refund(account: string): Promise<void>;
  reset(account: string): Promise<void>;
}

interface Window {
  count: number;
  resetAt: number;
}

export class MemoryLoginThrottle implements LoginThrottle {
  private readonly ips = new Map<string, Window>();
  private readonly accounts = new Map<string, Window>();
  constructor(
    private readonly limits: ThrottleLimits,
    private readonly now: () => number = Date.now,
  ) {}

  private bump(map: Map<string, Window>, key: string): Window {
    const now = this.now();
    let w = map.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + this.limits.windowMs };
      map.set(key, w);
      if (map.size > 100_000) this.prune(map);
    }
    w.count++;
    return w;
  }

  private prune(map: Map<string, Window>): void {
    const now = this.now();
    for (const [k, w] of map) if (w.resetAt <= now) map.delete(k);
  }

  async checkIp(ip: string): Promise<ThrottleDecision> {
    const w = this.bump(this.ips, ip);
    if (w.count > this.limits.maxAttemptsPerIp) return { allowed: false, retryAfterMs: w.resetAt - this.now() };
    return { allowed: true };
  }

  async check(account: string, ip: string): Promise<ThrottleDecision> {
    const byIp = await this.checkIp(ip);
    if (!byIp.allowed) return byIp;
    const a = this.bump(this.accounts, account);
    if (a.count > this.limits.maxFailuresPerAccount) return { allowed: false, retryAfterMs: a.resetAt - this.now() };
    return { allowed: true };
  }

  async refund(account: string): Promise<void> {
    const a = this.accounts.get(account);
    if (a && a.resetAt > this.now() && a.count > 0) a.count--;
  }

  async reset(account: string): Promise<void> {
    this.accounts.delete(account);
  }
}

export class RedisLoginThrottle implements LoginThrottle {
  constructor(
    private readonly conn: RedisConnection,
    private readonly prefix: string,
    private readonly limits: ThrottleLimits,
  ) {}

  private accountKey(account: string): string {
    return `${this.prefix}th:a:${account}`;
  }

  private async attempt(keys: string[]): Promise<ThrottleDecision> {
    try {
      const [allowed, retryAfterMs] = await runScript<[number, number]>(this.conn.exec, THROTTLE_CHECK, keys, [
        this.limits.maxAttemptsPerIp,
        this.limits.maxFailuresPerAccount,
        this.limits.windowMs,
      ]);
      return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs: Math.max(retryAfterMs, 1000) };
    } catch (err) {
      throw classifyRedisError('throttle', err);
    }
  }

  check(account: string, ip: string): Promise<ThrottleDecision> {
    return this.attempt([`${this.prefix}th:ip:${ip}`, this.accountKey(account)]);
  }

  checkIp(ip: string): Promise<ThrottleDecision> {
    return this.attempt([`${this.prefix}th:ip:${ip}`]);
  }

  async refund(account: string): Promise<void> {
    try {
      await runScript(this.conn.exec, THROTTLE_REFUND, [this.accountKey(account)], []);
    } catch (err) {
      throw classifyRedisError('throttle', err);
    }
  }

  async reset(account: string): Promise<void> {
    try {
      await this.conn.exec.send(['DEL', this.accountKey(account)]);
    } catch (err) {
      throw classifyRedisError('throttle', err);
    }
  }
}
