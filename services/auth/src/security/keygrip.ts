import { BoundedMap } from '../bounded-map.js';
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Verified pairs remembered at most (each ~0.2 KB: 10k is ~2 MB). */
const DEFAULT_MAX_VERIFIED = 10_000;

interface Verified {
  /** The signature as the cookie carried it (base64url bytes). */
  readonly digest: Buffer;
  /** Index of the key that made it: Koa re-signs when it is not 0. */
  readonly index: number;
}

/**
 * A drop-in for the `keygrip` object Koa uses to sign cookies (same HMAC-SHA1, same base64url
 * signature format, same rotation semantics). keygrip's compare goes through tsscmp, which draws
 * random bytes and computes two extra HMACs per call; here one HMAC and a constant-time buffer
 * compare do the same job.
 *
 * Verified (data, signature) pairs are remembered: a browser sends the same signed cookie on
 * every request, and its HMAC was still ~8% of GET /auth/me's CPU (5.1 of 62 us, bench/profile.ts).
 * Only positive answers are kept, bounded (oldest out first), so
 * - a forged or altered signature never matches a remembered pair: it goes through the HMAC and is
 *   rejected, exactly as without the memo, and cannot fill it;
 * - the signature is compared in constant time with the remembered one, as with the HMAC;
 * - a pair keeps the index of the key that made it, so a cookie signed with an older key is still
 *   re-signed with the first (rotation), and the keys are fixed for the object's life: a new key
 *   list (SESSION_KEYS, read once at start) is a new object with an empty memo, so a key taken out
 *   of the list verifies nothing from then on.
 * It holds the cookie values of recent requests, as the process does while it serves them: in
 * memory only, never logged, next to the keys themselves.
 */
export class FastKeygrip {
  private readonly verified: BoundedMap<string, Verified>;

  constructor(
    private readonly keys: readonly string[],
    maxVerified = DEFAULT_MAX_VERIFIED,
  ) {
    if (keys.length === 0) throw new Error('FastKeygrip needs at least one key');
    this.verified = new BoundedMap(maxVerified);
  }

  /** Pairs remembered now (never above maxVerified). */
  get size(): number {
    return this.verified.size;
  }

  private sig(data: string, key: string): string {
    return createHmac('sha1', key).update(data).digest('base64url');
  }

  sign(data: string): string {
    return this.sig(data, this.keys[0]!);
  }

  verify(data: string, digest: string): boolean {
    return this.index(data, digest) > -1;
  }

  /** Index of the key that made `digest`, or -1; Koa re-signs when the index is not 0 (rotation). */
  index(data: string, digest: string): number {
    const given = Buffer.from(digest);
    const known = this.verified.get(data);
    if (known !== undefined && known.digest.length === given.length && timingSafeEqual(known.digest, given)) return known.index;
    for (let i = 0; i < this.keys.length; i++) {
      const expected = Buffer.from(this.sig(data, this.keys[i]!));
      if (expected.length === given.length && timingSafeEqual(expected, given)) {
        this.verified.set(data, { digest: expected, index: i });
        return i;
      }
    }
    return -1;
  }
}
