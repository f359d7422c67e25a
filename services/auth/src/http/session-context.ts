import type { Context } from 'koa';
import type { AuthState, KoaSessionData } from '../sessions/koa-adapter.js';
import type { SessionRecord } from '../sessions/types.js';

/** What the /auth routes read from and write to a request's session, in one place for every route module. */
export const iso = (ms: number) => new Date(ms).toISOString();

export function publicSession(r: SessionRecord, idleTimeoutMs: number) {
  return {
    handle: r.handle,
    createdAt: iso(r.createdAt),
    lastSeenAt: iso(r.lastSeenAt),
    idleExpiresAt: iso(Math.min(r.lastSeenAt + idleTimeoutMs, r.absoluteExpiresAt)),
    absoluteExpiresAt: iso(r.absoluteExpiresAt),
  };
}

export function state(ctx: Context): AuthState {
  return ctx.state as AuthState;
}

export function koaSession(ctx: Context): KoaSessionData & { regenerate(): Promise<void> } {
  return (ctx as unknown as { session: KoaSessionData & { regenerate(): Promise<void> } }).session;
}

export function clearSession(ctx: Context): void {
  (ctx as unknown as { session: null }).session = null;
}


/**
 * A new session for `user` under a fresh token (koa-session's regenerate: whatever session the
 * request carried is destroyed first). If the store does not confirm it, koa-session is left
 * nothing to commit, so no cookie goes out for a session that may not exist.
 */
export async function startSession(ctx: Context, user: { id: string; email: string }): Promise<void> {
  const s = koaSession(ctx);
  s.uid = user.id;
  s.email = user.email;
  try {
    await s.regenerate();
  } catch (err) {
    clearSession(ctx);
    throw err;
  }
}
