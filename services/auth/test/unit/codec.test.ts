import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeSession, encodeSession, MAX_USER_AGENT } from '../../src/sessions/codec.js';
import { newToken, sessionIdFromToken } from '../../src/sessions/token.js';
import type { SessionRecord } from '../../src/sessions/types.js';

const now = 1_790_000_000_123;
const record: SessionRecord = {
  userId: 'Qm9vdHN0cmFwVXNlcklkMQ',
  email: 'first.last+tag|x@example.com',
  handle: 'aGFuZGxlaGFuZGxl',
  createdAt: now,
  lastSeenAt: now + 61_000,
  absoluteExpiresAt: now + 43_200_000,
  ip: '2001:db8::1',
  userAgent: 'Chrome 120 on Windows',
};

describe('session codec', () => {
  it('round-trips a record exactly', () => {
    expect(decodeSession(encodeSession(record))).toEqual(record);
  });

  it('packs a typical session in at most 130 bytes (the short-name JSON took ~180)', () => {
    const typical = { ...record, email: 'user12345.name@example-mail.com', ip: '203.0.113.77' };
    expect(Buffer.byteLength(encodeSession(typical))).toBeLessThanOrEqual(130);
  });

  it('starts with the user id and its separator, which the Lua scripts rely on', () => {
    expect(encodeSession(record).startsWith(`${record.userId}\x1f`)).toBe(true);
  });

  it('cannot be confused by a separator or control character inside a field', () => {
    const hostile = { ...record, userAgent: 'evil\x1fua\n', ip: '1.2.3.4\x1f' };
    const back = decodeSession(encodeSession(hostile));
    expect(back).toEqual({ ...record, userAgent: 'evilua', ip: '1.2.3.4' });
  });

  it('caps the user agent summary', () => {
    const long = { ...record, userAgent: 'x'.repeat(500) };
    expect(decodeSession(encodeSession(long))!.userAgent).toHaveLength(MAX_USER_AGENT);
  });

  it('keeps a re-authentication time, and writes no ninth field when it is the creation time', () => {
    expect(encodeSession({ ...record, authenticatedAt: record.createdAt })).toBe(encodeSession(record));
    const reauthed = { ...record, authenticatedAt: record.createdAt + 90_000 };
    expect(encodeSession(reauthed).split('\x1f')).toHaveLength(9);
    expect(decodeSession(encodeSession(reauthed))).toEqual(reauthed);
    expect(decodeSession(encodeSession(record))?.authenticatedAt).toBeUndefined();
  });

  it('reads anything malformed as no session', () => {
    const good = encodeSession(record).split('\x1f');
    const bad = [
      null,
      undefined,
      '',
      '{"u":"x"}',
      good.slice(0, 7).join('\x1f'),
      [...good, '10', 'extra'].join('\x1f'),
      [...good, '-1'].join('\x1f'),
      good.map((f, i) => (i === 3 ? 'NaN!' : f)).join('\x1f'),
      good.map((f, i) => (i === 4 ? '-1' : f)).join('\x1f'),
      good.map((f, i) => (i === 0 ? '' : f)).join('\x1f'),
    ];
    for (const raw of bad) expect(decodeSession(raw), String(raw)).toBeNull();
  });
});

describe('session id', () => {
  it('is 128 bits of sha256(token) in base64url, never the token', () => {
    const token = newToken();
    const id = sessionIdFromToken(token);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(token).not.toContain(id);
    expect(sessionIdFromToken(token)).toBe(id);
    // Exactly the first 16 bytes of the digest: ids of sessions stored before stay the same.
    expect(id).toBe(createHash('sha256').update(token).digest().subarray(0, 16).toString('base64url'));
  });
});
