import { BoundedMap } from '../bounded-map.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics, ValidationOutcome } from '../observability/metrics.js';
import { StoreError } from '../errors.js';
import { CsrfTokens, isWellFormedSessionToken, newHandle, sessionIdFromToken } from './token.js';
import type { SessionRecord, SessionStore } from './types.js';
import { isExpired } from './types.js';

export interface SessionPolicy {
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  readonly touchIntervalMs: number;
  readonly maxPerUser: number;
  /** How old a session's password proof may be for a sensitive action. */
  readonly reauthWindowMs: number;
}

export interface ActiveSession {
  readonly token: string;
  readonly id: string;
  record: SessionRecord;
}

export type Validation =
  | { readonly ok: true; readonly session: ActiveSession }
  | { readonly ok: false; readonly outcome: Exclude<ValidationOutcome, 'valid' | 'error'> };

export type RevokeReason = 'logout' | 'revoke' | 'logout_all' | 'evicted' | 'expired' | 'password_change' | 'account_delete';

/** When the session last proved the password (records older than the field: their login). */
export function authenticatedAt(r: SessionRecord): number {
  return r.authenticatedAt ?? r.createdAt;
}

/**
 * Session rules in one place: token -> sha256 -> one store lookup -> idle/absolute checks. The
 * HTTP layer's session lifecycle (http/session-lifecycle.ts) calls this; it does not know how sessions are stored.
 */
export class SessionService {
  readonly csrf: CsrfTokens;
  /** Session id -> time of its last failed write-back. */
  private readonly failedTouches = new BoundedMap<string, number>(10_000);

  constructor(
    readonly store: SessionStore,
    readonly policy: SessionPolicy,
    keys: readonly string[],
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.csrf = new CsrfTokens(keys);
  }

  async validate(token: string): Promise<Validation> {
    const start = process.hrtime.bigint();
    const done = (outcome: ValidationOutcome, source: 'store' | 'none') =>
      this.metrics.validation.observe({ outcome, source }, Number(process.hrtime.bigint() - start) / 1e9);
    if (!isWellFormedSessionToken(token)) {
      done('invalid', 'none');
      return { ok: false, outcome: 'invalid' };
    }
    const id = sessionIdFromToken(token);
    let record: SessionRecord | null;
    try {
      record = await this.store.get(id);
    } catch (err) {
      done('error', 'store');
      throw err;
    }
    if (!record) {
      done('invalid', 'store');
      return { ok: false, outcome: 'invalid' };
    }
    const expired = isExpired(record, this.now(), this.policy.idleTimeoutMs);
    if (expired) {
      // Rare: the key's TTL already ends at both expiries, so this is the gap between a TTL
      // rounding and the check; it is an expiry, not a revocation, so nothing is counted as one.
      done('expired', 'store');
      return { ok: false, outcome: 'expired' };
    }
    done('valid', 'store');
    return { ok: true, session: { token, id, record } };
  }

  recordMissing(): void {
    this.metrics.validation.observe({ outcome: 'missing', source: 'none' }, 0);
  }

  async create(
    token: string,
    user: { id: string; email: string },
    client: { ip: string; userAgent: string },
  ): Promise<ActiveSession> {
    const now = this.now();
    const id = sessionIdFromToken(token);
    const record: SessionRecord = {
      userId: user.id,
      email: user.email,
      handle: newHandle(),
      createdAt: now,
      lastSeenAt: now,
      absoluteExpiresAt: now + this.policy.absoluteTimeoutMs,
      ip: client.ip,
      userAgent: client.userAgent,
    };
    const { evicted } = await this.store.create(id, record, {
      idleTimeoutMs: this.policy.idleTimeoutMs,
      maxPerUser: this.policy.maxPerUser,
    });
    this.metrics.sessionsCreated.inc();
    if (evicted > 0) this.metrics.sessionsRevoked.inc({ reason: 'evicted' }, evicted);
    return { token, id, record };
  }

  /**
   * Sliding renewal, throttled: at most one write-back per touch interval, so a busy session costs
   * one store read per request and one write per interval, never one write per request.
   */
  async touchIfDue(s: ActiveSession): Promise<void> {
    const now = this.now();
    if (now - s.record.lastSeenAt < this.policy.touchIntervalMs) return;
    const failedAt = this.failedTouches.get(s.id);
    if (failedAt !== undefined && now - failedAt < this.policy.touchIntervalMs) return;
    const next = { ...s.record, lastSeenAt: now };
    try {
      if (await this.store.touch(s.id, next, this.policy.idleTimeoutMs)) s.record = next;
      this.failedTouches.delete(s.id);
    } catch (err) {
      // A lost write-back only shortens the idle window by one interval; the request still
      // succeeds, and the session is not retried for an interval so an outage does not add a
      // timeout (and a log line) to every one of its requests.
      this.failedTouches.set(s.id, now);
      this.logger.warn({ err: { message: (err as Error).message, kind: (err as StoreError).kind } }, 'session touch failed');
    }
  }

  /** True while the session's last password proof is inside the re-authentication window. */
  isRecentlyAuthenticated(s: ActiveSession): boolean {
    return this.now() - authenticatedAt(s.record) < this.policy.reauthWindowMs;
  }

  /**
   * Records a fresh password proof on the session (POST /auth/reauth). Written through touch, so
   * it can never bring back a session revoked meanwhile: false then.
   */
  async reauthenticate(s: ActiveSession): Promise<boolean> {
    const now = this.now();
    const next = { ...s.record, lastSeenAt: now, authenticatedAt: now };
    if (!(await this.store.touch(s.id, next, this.policy.idleTimeoutMs))) return false;
    s.record = next;
    this.failedTouches.delete(s.id);
    return true;
  }

  async revoke(id: string, reason: RevokeReason): Promise<boolean> {
    const removed = await this.store.revoke(id);
    if (removed) this.metrics.sessionsRevoked.inc({ reason });
    return removed;
  }

  async revokeAll(userId: string, exceptId?: string, reason: RevokeReason = 'logout_all'): Promise<number> {
    const n = await this.store.revokeAllForUser(userId, exceptId);
    if (n > 0) this.metrics.sessionsRevoked.inc({ reason }, n);
    return n;
  }

  list(userId: string) {
    return this.store.listByUser(userId);
  }
}
