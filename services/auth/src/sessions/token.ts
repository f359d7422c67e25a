import { createHash, createHmac, randomBytes, timingSafeEqual, hkdfSync } from 'node:crypto';

/** 32 random bytes = 256 bits, base64url without padding: always 43 characters. */
const TOKEN_BYTES = 32;
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export function isWellFormedToken(token: unknown): token is string {
  return typeof token === 'string' && TOKEN_RE.test(token);
}

/**
 * The store only ever sees sha256(token): a dump of Redis (or a replica, or a backup) yields no
 * cookie an attacker could replay. The id keeps the first 128 bits (22 base64url characters):
 * finding a token for a given id is still a 128-bit preimage search, ids of live sessions do not
 * collide in practice (birthday bound 2^64), and the shorter id is stored twice per session (its
 * key and the user index), 42 bytes less in Redis per session.
 */
export function sessionIdFromToken(token: string): string {
  return createHash('sha256').update(token).digest().subarray(0, 16).toString('base64url');
}

/** Public handle: lets a user list and revoke sessions without ever exposing a token or its hash. */
export function newHandle(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * Per-session CSRF tokens derived from the session id: nothing extra to store or replicate, and
 * every key in the rotation list still verifies tokens issued before a rotation.
 */
export class CsrfTokens {
  private readonly keys: Buffer[];
  constructor(secrets: readonly string[]) {
    this.keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', s, 'session-auth', 'csrf-v1', 32)));
  }
  issue(sessionId: string): string {
    return createHmac('sha256', this.keys[0]!).update(sessionId).digest('base64url');
  }
  verify(sessionId: string, candidate: unknown): boolean {
    // The shape check comes first: a header with non-ASCII bytes has a UTF-8 length other than
    // 43 and would make timingSafeEqual throw (a 500) instead of failing the comparison.
    if (!isWellFormedToken(candidate)) return false;
    const given = Buffer.from(candidate);
    return this.keys.some((k) =>
      timingSafeEqual(Buffer.from(createHmac('sha256', k).update(sessionId).digest('base64url')), given),
    );
  }
}
