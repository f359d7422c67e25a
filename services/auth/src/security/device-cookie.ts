import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * OWASP's device cookie: proof that this browser logged in to this account before, so the
 * throttle can give it a budget of its own (security/throttle.ts). `nonce.issuedAt.mac`, where
 * the MAC (HMAC-SHA256 under the session keys, with a purpose label so it can never be mistaken
 * for a cookie signature or a CSRF token) binds the nonce to the account without naming it: the
 * cookie says nothing about who logged in. Rotation: the first key signs, every key verifies.
 */
export class DeviceCookies {
  constructor(
    private readonly keys: readonly string[],
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (keys.length === 0) throw new Error('DeviceCookies needs at least one key');
  }

  private mac(key: string, nonce: string, issued: string, account: string): Buffer {
    return createHmac('sha256', key).update(`device-cookie\0${nonce}\0${issued}\0${account}`).digest().subarray(0, 16);
  }

  issue(account: string): string {
    const nonce = randomBytes(16).toString('base64url');
    const issued = this.now().toString(36);
    return `${nonce}.${issued}.${this.mac(this.keys[0]!, nonce, issued, account).toString('base64url')}`;
  }

  /** The nonce when `value` is a device cookie this service issued for `account` and it has not aged out. */
  verify(value: string | undefined, account: string): string | undefined {
    if (!value || value.length > 128) return undefined;
    const [nonce, issued, mac, extra] = value.split('.');
    if (!nonce || !issued || !mac || extra !== undefined || !/^[A-Za-z0-9_-]{22}$/.test(nonce) || !/^[0-9a-z]{1,12}$/.test(issued)) {
      return undefined;
    }
    const at = parseInt(issued, 36);
    if (this.now() - at > this.maxAgeMs || at > this.now() + 60_000) return undefined;
    const given = Buffer.from(mac, 'base64url');
    for (const k of this.keys) {
      const expected = this.mac(k, nonce, issued, account);
      if (given.length === expected.length && timingSafeEqual(given, expected)) return nonce;
    }
    return undefined;
  }
}
