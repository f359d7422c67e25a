import type { StoreMode } from '../config.js';

/** What the store keeps for one session. Timestamps are epoch milliseconds. */
export interface SessionRecord {
  readonly userId: string;
  /** Denormalised (emails never change here) so GET /auth/me needs no second store read. */
  readonly email: string;
  readonly handle: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly absoluteExpiresAt: number;
  readonly ip: string;
  /** A short "Browser version on OS" summary, not the raw header: it is shown, and it costs memory. */
  readonly userAgent: string;
  /**
   * When this session last proved the password (login, POST /auth/reauth): what the
   * re-authentication window of sensitive actions is measured from. Absent on records written
   * before the field existed, which were made by a login: createdAt stands in.
   */
  readonly authenticatedAt?: number;
}

export interface CreateSessionOptions {
  readonly idleTimeoutMs: number;
  /** Oldest sessions of the user beyond this count are revoked in the same atomic step. */
  readonly maxPerUser: number;
}

export interface CreateResult {
  /** Session ids evicted to respect the per-user limit. */
  readonly evicted: number;
}

/** Which promises a store mode makes; surfaced in /readyz and the README. */
export interface StoreGuarantees {
  /** Create/revoke are confirmed by at least this many replicas before success is returned. */
  readonly confirmedReplicas: number;
  readonly survivesProcessRestart: boolean;
  readonly sharedAcrossReplicas: boolean;
  readonly description: string;
}

/**
 * The one interface every session store implements; the conformance suite in test/conformance
 * runs against each with real servers. `id` is always the first 128 bits of sha256(token)
 * (sessionIdFromToken), never the token. Every write is idempotent so a write retried across a
 * failover is harmless.
 */
export interface SessionStore {
  /** The store mode it implements (SESSION_STORE), also its metrics' backend label. */
  readonly backend: StoreMode;
  readonly guarantees: StoreGuarantees;
  get(id: string): Promise<SessionRecord | null>;
  /** Durable. Idempotent: creating the same id with the same record twice succeeds once. */
  create(id: string, record: SessionRecord, opts: CreateSessionOptions): Promise<CreateResult>;
  /**
   * Writes back `next` (the validated record with a new lastSeenAt) and renews the idle TTL, only
   * if the session still exists: a touch racing a revoke must never bring the session back.
   */
  touch(id: string, next: SessionRecord, idleTimeoutMs: number): Promise<boolean>;
  /** Durable. Idempotent; true when this call removed it. */
  revoke(id: string): Promise<boolean>;
  listByUser(userId: string): Promise<{ id: string; record: SessionRecord }[]>;
  /** Durable. Returns how many sessions were revoked. */
  revokeAllForUser(userId: string, exceptId?: string): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function isExpired(
  r: SessionRecord,
  now: number,
  idleTimeoutMs: number,
): 'idle' | 'absolute' | false {
  if (now >= r.absoluteExpiresAt) return 'absolute';
  if (now - r.lastSeenAt >= idleTimeoutMs) return 'idle';
  return false;
}

/** The TTL to put on a session key: the idle timeout, never past the absolute expiry. */
export function ttlFor(r: Pick<SessionRecord, 'absoluteExpiresAt'>, now: number, idleTimeoutMs: number): number {
  return Math.max(1, Math.min(idleTimeoutMs, r.absoluteExpiresAt - now));
}
