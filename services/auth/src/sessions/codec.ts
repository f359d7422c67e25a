import type { SessionRecord } from './types.js';

/**
 * Short field names keep a session near 200 bytes in Redis (the memory target is < 300 bytes per
 * session); the long names exist only in code.
 */
interface Wire {
  u: string;
  e: string;
  h: string;
  c: number;
  l: number;
  a: number;
  i: string;
  g: string;
}

export const MAX_USER_AGENT = 64;

export function encodeSession(r: SessionRecord): string {
  const w: Wire = {
    u: r.userId,
    e: r.email,
    h: r.handle,
    c: r.createdAt,
    l: r.lastSeenAt,
    a: r.absoluteExpiresAt,
    i: r.ip,
    g: r.userAgent.length > MAX_USER_AGENT ? r.userAgent.slice(0, MAX_USER_AGENT) : r.userAgent,
  };
  return JSON.stringify(w);
}

/** Returns null for anything that is not a well-formed record, so corrupt data reads as "no session". */
export function decodeSession(raw: string | null | undefined): SessionRecord | null {
  if (!raw) return null;
  let w: Partial<Wire>;
  try {
    w = JSON.parse(raw) as Partial<Wire>;
  } catch {
    return null;
  }
  if (
    typeof w.u !== 'string' ||
    typeof w.e !== 'string' ||
    typeof w.h !== 'string' ||
    typeof w.c !== 'number' ||
    typeof w.l !== 'number' ||
    typeof w.a !== 'number'
  ) {
    return null;
  }
  return {
    userId: w.u,
    email: w.e,
    handle: w.h,
    createdAt: w.c,
    lastSeenAt: w.l,
    absoluteExpiresAt: w.a,
    ip: typeof w.i === 'string' ? w.i : '',
    userAgent: typeof w.g === 'string' ? w.g : '',
  };
}
