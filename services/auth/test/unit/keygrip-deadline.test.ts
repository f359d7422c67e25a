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
