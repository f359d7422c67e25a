import { randomBytes } from 'node:crypto';
import type { SessionRecord } from '../../src/sessions/types.js';

/** A session record as a login makes it, for store tests and the bench; `over` changes any field. */
export function record(userId: string, createdAt = Date.now(), over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    userId,
    email: `${userId}@example.com`,
    handle: randomBytes(12).toString('base64url'),
    createdAt,
    lastSeenAt: createdAt,
    absoluteExpiresAt: createdAt + 3_600_000,
    ip: '203.0.113.7',
    userAgent: 'Firefox 120 on Linux',
    ...over,
  };
}
