import { BoundedMap } from '../bounded-map.js';
import { createHmac, hash as digest, randomBytes, timingSafeEqual, hkdfSync } from 'node:crypto';
import { leadingTag, tagged } from '../hash-tag.js';

const sha256 = (data: string): Buffer => digest('sha256', data, 'buffer');

/** 32 random bytes = 256 bits, base64url without padding: always 43 characters. */
const TOKEN_BYTES = 32;
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
/**
 * A session token, optionally led by its user's slot tag (`abcd.` + 43): in cluster mode the
 * token has to say where its session lives, since a request knows nothing else (docs/cluster.md).
 */
const SESSION_TOKEN_RE = /^(?:([A-Za-z0-9_-]{4})\.)?[A-Za-z0-9_-]{43}$/;

/** A fresh token; led by the user's slot tag when the user id carries one (cluster mode). */
export function newToken(userId?: string): string {
  const random = randomBytes(TOKEN_BYTES).toString('base64url');
  const tag = userId === undefined ? undefined : leadingTag(userId);
  return tag === undefined ? random : `${tag}.${random}`;
}

/** The 43-character shape: CSRF tokens (and untagged session tokens). */
export function isWellFormedToken(token: unknown): token is string {
  return typeof token === 'string' && TOKEN_RE.test(token);
}

export function isWellFormedSessionToken(token: unknown): token is string {
  return typeof token === 'string' && SESSION_TOKEN_RE.test(token);
}

/**
 * The store only ever sees 128 bits of sha256(token): a dump of Redis (or a replica, or a backup)
 * yields no cookie an attacker could replay. The id keeps the first 128 bits (22 base64url characters):
 * finding a token for a given id is still a 128-bit preimage search, ids of live sessions do not
 * collide in practice (birthday bound 2^64), and the shorter id is stored twice per session (its
 * key and the user index), 42 bytes less in Redis per session. A tagged token's id is
 * `{tag}` + those 22 characters.
 */
export function sessionIdFromToken(token: string): string {
  let id = ids.get(token);
  if (id === undefined) {
    const hash = sha256(token).subarray(0, 16).toString('base64url');
    // A tagged token's id keeps the tag as a Redis hash tag, so the session key lands in its user's slot.
    const dot = token.length === 48 && token[4] === '.' ? 4 : -1;
    id = dot < 0 ? hash : tagged(token.slice(0, dot)) + hash;
    ids.set(token, id);
  }
  return id;
}

/**
 * Token -> id of recent requests. The sha256 was ~3% of GET /auth/me's CPU (bench/profile.ts,
 * 3.1 of 95 us), paid again on every request of the same session; a lookup is ~25 ns. It holds
 * tokens in memory as the keygrip memo holds the cookies carrying them (security/keygrip.ts):
 * never logged, never sent anywhere.
 */
const ids = new BoundedMap<string, string>(10_000);

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
  /**
   * Session id -> its token under the current key. GET /auth/me hands the token out on every
   * call and the HMAC was ~3% of that request's CPU; the token is a pure function of the id and
   * is sent to the client anyway, so remembering it holds nothing secret.
   */
  private readonly issued: BoundedMap<string, string>;
  constructor(secrets: readonly string[], maxIssued = 10_000) {
    this.issued = new BoundedMap(maxIssued);
    this.keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', s, 'session-auth', 'csrf-v1', 32)));
  }
  issue(sessionId: string): string {
    let t = this.issued.get(sessionId);
    if (t === undefined) {
      t = createHmac('sha256', this.keys[0]!).update(sessionId).digest('base64url');
      this.issued.set(sessionId, t);
    }
    return t;
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
