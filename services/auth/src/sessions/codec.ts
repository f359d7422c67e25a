import type { SessionRecord } from './types.js';

/**
 * One session as Redis holds it: eight fields joined by U+001F, times in base 36 and the two
 * later ones as offsets from createdAt. A JSON object with short names cost ~180 bytes a value
 * and pushed it into jemalloc's 192-byte class; this packs the same record in ~110 bytes, which
 * MEMORY USAGE shows as the largest part of a session that the layout controls. The long field
 * names exist only in code.
 *
 *   userId ␟ email ␟ handle ␟ createdAt ␟ lastSeenAt-createdAt ␟ absoluteExpiresAt-createdAt ␟ ip ␟ userAgent [␟ authenticatedAt-createdAt]
 *
 * The ninth field is written only when it differs from createdAt (a re-authentication), so a
 * fresh session costs no byte more, and records written before it existed still decode.
 *
 * The user id comes first so the Lua scripts can find the user index with one string.match.
 */
const SEP = '\x1f';
const FIELDS = 8;
const MAX_FIELDS = 9;
const B36 = /^[0-9a-z]{1,12}$/;

export const MAX_USER_AGENT = 64;

/** No field may carry the separator (or any other control character) into the stored value. */
// eslint-disable-next-line no-control-regex
const clean = (s: string) => s.replace(/[\x00-\x1f]/g, '');

export function encodeSession(r: SessionRecord): string {
  const ua = r.userAgent.length > MAX_USER_AGENT ? r.userAgent.slice(0, MAX_USER_AGENT) : r.userAgent;
  const fields = [
    clean(r.userId),
    clean(r.email),
    clean(r.handle),
    r.createdAt.toString(36),
    (r.lastSeenAt - r.createdAt).toString(36),
    (r.absoluteExpiresAt - r.createdAt).toString(36),
    clean(r.ip),
    clean(ua),
  ];
  if (r.authenticatedAt !== undefined && r.authenticatedAt !== r.createdAt) {
    fields.push(Math.max(0, r.authenticatedAt - r.createdAt).toString(36));
  }
  return fields.join(SEP);
}

function num(s: string): number | null {
  return B36.test(s) ? parseInt(s, 36) : null;
}

/** Returns null for anything that is not a well-formed record, so corrupt data reads as "no session". */
export function decodeSession(raw: string | null | undefined): SessionRecord | null {
  if (!raw) return null;
  const f = raw.split(SEP);
  if (f.length !== FIELDS && f.length !== MAX_FIELDS) return null;
  const [userId, email, handle, c, l, a, ip, userAgent, au] = f as [string, string, string, string, string, string, string, string, string?];
  const createdAt = num(c);
  const seen = num(l);
  const abs = num(a);
  if (!userId || !email || !handle || createdAt === null || seen === null || abs === null) return null;
  const authOffset = au === undefined ? 0 : num(au);
  if (authOffset === null) return null;
  return {
    userId,
    email,
    handle,
    createdAt,
    lastSeenAt: createdAt + seen,
    absoluteExpiresAt: createdAt + abs,
    ip,
    userAgent,
    ...(au === undefined ? {} : { authenticatedAt: createdAt + authOffset }),
  };
}
