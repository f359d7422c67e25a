import type { Context } from 'koa';
import { summariseUserAgent } from './user-agent.js';
import type { ActiveSession, RevokeReason, SessionService } from './service.js';

/** What the session middleware leaves on ctx.state for the routes. */
export interface AuthState {
  auth?: ActiveSession;
  /** Why koa-session's destroy is being called this request (logout, revoke, ...). */
  revokeReason?: RevokeReason;
}

/** The minimal data koa-session keeps in its Session object; the record lives in ctx.state.auth. */
export interface KoaSessionData {
  uid?: string;
  email?: string;
}

/**
 * koa-session's external-store contract over SessionService. koa-session owns the cookie (name,
 * flags, signature) and the token lifecycle (genid, regenerate); the service owns what a session
 * is. `set` only ever creates: sessions are never rewritten through koa-session, and "last seen"
 * goes through the throttled touch instead.
 */
export function koaSessionStore(service: SessionService) {
  return {
    async get(token: string, _maxAge: unknown, opts: { ctx?: unknown }) {
      const ctx = opts.ctx as Context;
      const v = await service.validate(token);
      const state = ctx.state as AuthState;
      if (!v.ok) return undefined;
      state.auth = v.session;
      return { uid: v.session.record.userId, email: v.session.record.email } satisfies KoaSessionData;
    },

    async set(token: string, data: KoaSessionData, _maxAge: unknown, opts: { ctx?: unknown }) {
      const ctx = opts.ctx as Context;
      const state = ctx.state as AuthState;
      if (state.auth?.token === token || !data.uid || !data.email) return;
      state.auth = await service.create(
        token,
        { id: data.uid, email: data.email },
        { ip: ctx.ip, userAgent: summariseUserAgent(ctx.get('user-agent')) },
      );
    },

    async destroy(token: string, opts: { ctx?: unknown }) {
      const ctx = opts.ctx as Context;
      const state = ctx.state as AuthState;
      const s = state.auth;
      if (!s || s.token !== token) return;
      if (!s.revoked) await service.revoke(s.id, state.revokeReason ?? 'logout');
      state.auth = undefined;
    },
  };
}
