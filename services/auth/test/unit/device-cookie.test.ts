import { describe, expect, it } from 'vitest';
import { DeviceCookies } from '../../src/security/device-cookie.js';

const K1 = 'device-key-1-0123456789-0123456789';
const K2 = 'device-key-2-0123456789-0123456789';
const DAY = 86_400_000;

describe('device cookies', () => {
  it('verify for the account they were issued for, and no other', () => {
    const d = new DeviceCookies([K1], 180 * DAY);
    const c = d.issue('alice@example.com');
    const nonce = d.verify(c, 'alice@example.com');
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(d.verify(c, 'bob@example.com')).toBeUndefined();
    // Each issue is a new device identity.
    expect(d.verify(d.issue('alice@example.com'), 'alice@example.com')).not.toBe(nonce);
    // The account is bound, not named.
    expect(c).not.toContain('alice');
  });

  it('refuse anything tampered, malformed or signed with an unknown key', () => {
    const d = new DeviceCookies([K1], 180 * DAY);
    const c = d.issue('a@example.com');
    const [nonce, issued, mac] = c.split('.') as [string, string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const bad of [
      `${flip(nonce)}.${issued}.${mac}`,
      `${nonce}.${(parseInt(issued, 36) + 1).toString(36)}.${mac}`,
      `${nonce}.${issued}.${flip(mac)}`,
      `${nonce}.${issued}`,
      `${c}.extra`,
      '',
      'x'.repeat(500),
      undefined,
    ]) {
      expect(d.verify(bad, 'a@example.com'), String(bad)).toBeUndefined();
    }
    expect(new DeviceCookies([K2], 180 * DAY).verify(c, 'a@example.com')).toBeUndefined();
  });

  it('age out after their lifetime, and survive a key rotation', () => {
    let now = 1_800_000_000_000;
    const old = new DeviceCookies([K1], 180 * DAY, () => now);
    const c = old.issue('a@example.com');
    const rotated = new DeviceCookies([K2, K1], 180 * DAY, () => now);
    expect(rotated.verify(c, 'a@example.com')).toBeDefined();
    now += 181 * DAY;
    expect(rotated.verify(c, 'a@example.com')).toBeUndefined();
  });
});
