import { describe, it, expect } from 'vitest';
import { createRequire } from 'node:module';
import { FastKeygrip } from '../../src/security/keygrip.js';
import { withDeadline } from '../../src/redis/deadline.js';
import { StoreError } from '../../src/errors.js';

const require = createRequire(import.meta.url);
// The reference implementation Koa would use by default (a dependency of `cookies`).
const Keygrip = require('keygrip') as new (keys: string[]) => { sign(d: string): string; index(d: string, s: string): number };

describe('FastKeygrip', () => {
  const keys = ['new-key-0123456789-0123456789-0123', 'old-key-0123456789-0123456789-0123'];

  it('signs exactly like keygrip, so existing cookies stay valid', () => {
    const ref = new Keygrip(keys);
    const fast = new FastKeygrip(keys);
    for (const data of ['sid=abc', 'sid=' + 'x'.repeat(43), 'sid=ünïcødé', '']) expect(fast.sign(data)).toBe(ref.sign(data));
  });

  it('finds the key that signed (rotation) and rejects anything else', () => {
    const old = new Keygrip([keys[1]!]).sign('sid=abc');
    const fast = new FastKeygrip(keys);
    expect(fast.index('sid=abc', fast.sign('sid=abc'))).toBe(0);
    expect(fast.index('sid=abc', old)).toBe(1);
    expect(fast.index('sid=abd', old)).toBe(-1);
    expect(fast.index('sid=abc', old.slice(0, -1))).toBe(-1);
    expect(fast.verify('sid=abc', 'garbage')).toBe(false);
  });

  // Verified pairs are remembered (no HMAC per request): what the memo must never change.
  describe('remembered verifications', () => {
    const data = 'sid=' + 'T'.repeat(43);
    /** The signature with one character changed: same length, still base64url. */
    const tamper = (sig: string, at = 5) => sig.slice(0, at) + (sig[at] === 'A' ? 'B' : 'A') + sig.slice(at + 1);

    it('still rejects a forged or altered signature for a cookie it has verified before', () => {
      const fast = new FastKeygrip(keys);
      const good = fast.sign(data);
      expect(fast.index(data, good)).toBe(0);
      expect(fast.index(data, good)).toBe(0);
      expect(fast.size).toBe(1);
      for (const at of [0, 5, good.length - 1]) expect(fast.index(data, tamper(good, at))).toBe(-1);
      expect(fast.index(data, good.slice(0, -1))).toBe(-1);
      expect(fast.index(data, good + 'A')).toBe(-1);
      expect(fast.index(data, '')).toBe(-1);
      // Another cookie's valid signature does not verify this one, nor this one's the other.
      const other = 'sid=' + 'U'.repeat(43);
      expect(fast.index(other, good)).toBe(-1);
      expect(fast.index(data, fast.sign(other))).toBe(-1);
      // And the genuine pair is still accepted after all of that.
      expect(fast.index(data, good)).toBe(0);
    });

    it('a rejected signature is never remembered, so forgeries cannot fill the memo', () => {
      const fast = new FastKeygrip(keys, 4);
      for (let i = 0; i < 100; i++) expect(fast.index(`sid=${i}`, tamper(fast.sign(`sid=${i}`)))).toBe(-1);
      expect(fast.size).toBe(0);
    });

    it('keeps the rotation: an old-key cookie still answers index 1 (Koa re-signs it), remembered or not', () => {
      const oldSig = new Keygrip([keys[1]!]).sign(data);
      const fast = new FastKeygrip(keys);
      expect(fast.index(data, oldSig)).toBe(1);
      expect(fast.index(data, oldSig)).toBe(1);
      // The browser now sends the re-signed cookie: index 0; the old signature stays valid while its key is listed.
      const newSig = fast.sign(data);
      expect(fast.index(data, newSig)).toBe(0);
      expect(fast.index(data, oldSig)).toBe(1);
      expect(fast.index(data, newSig)).toBe(0);
      // The old key taken out of the list (a restart with the new SESSION_KEYS): nothing it signed verifies.
      const rotated = new FastKeygrip([keys[0]!]);
      expect(rotated.index(data, oldSig)).toBe(-1);
      expect(rotated.index(data, newSig)).toBe(0);
    });

    it('stays bounded, and a pair pushed out is verified again by the HMAC', () => {
      const fast = new FastKeygrip(keys, 3);
      const sigs = Array.from({ length: 10 }, (_, i) => fast.sign(`sid=${i}`));
      for (const [i, sig] of sigs.entries()) {
        expect(fast.index(`sid=${i}`, sig)).toBe(0);
        expect(fast.size).toBeLessThanOrEqual(3);
      }
      expect(fast.size).toBe(3);
      for (const [i, sig] of sigs.entries()) {
        expect(fast.index(`sid=${i}`, sig)).toBe(0);
        expect(fast.index(`sid=${i}`, tamper(sig))).toBe(-1);
      }
      expect(fast.size).toBe(3);
    });

    it('answers exactly like keygrip on a mix of valid, old-key and forged signatures', () => {
      const ref = new Keygrip(keys);
      const fast = new FastKeygrip(keys, 8);
      const old = new Keygrip([keys[1]!]);
      const cases: [string, string][] = [];
      for (let i = 0; i < 20; i++) {
        const d = `sid=${'x'.repeat(i)}${i}`;
        cases.push([d, ref.sign(d)], [d, old.sign(d)], [d, tamper(ref.sign(d))], [d, ref.sign(`${d}!`)]);
      }
      // Twice: the second pass answers from the memo where it can.
      for (let pass = 0; pass < 2; pass++) for (const [d, sig] of cases) expect(fast.index(d, sig)).toBe(ref.index(d, sig));
    });
  });
});

describe('withDeadline', () => {
  it('passes results and errors through untouched', async () => {
    await expect(withDeadline('get', 200, Promise.resolve(42))).resolves.toBe(42);
    await expect(withDeadline('get', 200, Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });

  it('turns a call that never answers into a timeout StoreError within the bound', async () => {
    const start = Date.now();
    const err = await withDeadline('get', 150, new Promise(() => {})).catch((e: unknown) => e);
    const took = Date.now() - start;
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).kind).toBe('timeout');
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(400);
  });

  it('times out only the hung calls among many', async () => {
    const results = await Promise.allSettled([
      withDeadline('get', 100, new Promise(() => {})),
      withDeadline('get', 100, new Promise((r) => setTimeout(() => r('late-but-in-time'), 20))),
      withDeadline('get', 100, Promise.resolve('now')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
  });
});
