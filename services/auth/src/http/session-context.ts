import { BoundedMap } from '../bounded-map.js';
import type { SessionRecord } from '../sessions/types.js';

/** What the /auth routes read from and write to a request's session, in one place for every route module. */
const isoCache = new BoundedMap<number, string>(10_000);
/**
 * Date.toISOString was ~3.5% of GET /auth/me (four per call); the same few instants (a session's
 * creation, last touch and expiries) repeat on every request, so they are remembered (bounded).
 */
export const iso = (ms: number): string => {
  let s = isoCache.get(ms);
  if (s === undefined) {
    s = new Date(ms).toISOString();
    isoCache.set(ms, s);
  }
  return s;
};

export function publicSession(r: SessionRecord, idleTimeoutMs: number) {
  return {
    handle: r.handle,
    createdAt: iso(r.createdAt),
    lastSeenAt: iso(r.lastSeenAt),
    idleExpiresAt: iso(Math.min(r.lastSeenAt + idleTimeoutMs, r.absoluteExpiresAt)),
    absoluteExpiresAt: iso(r.absoluteExpiresAt),
  };
}
