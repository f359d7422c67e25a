import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import session from 'koa-session';
import type { ActiveSession, RevokeReason, SessionService } from '../sessions/service.js';
import { newToken } from '../sessions/token.js';
import { summariseUserAgent } from '../sessions/user-agent.js';

export interface SessionCookieOptions {
  readonly name: string;
  readonly maxAgeMs: number;
  readonly secure: boolean | 'auto';
}

/**
 * The session of a request, in explicit calls: `current` (what the cookie named, validated once
 * per request), `start` (a new session under a fresh token, replacing the request's one), `end`
 * (revoke it and clear the cookie), `forget` (clear the cookie of a session already revoked).
 * Every store write happens in these calls, where the route makes them.
 */
export interface SessionLifecycle {
  /** koa-session: reads and signs the cookie; loads the session it names through the service. */
  readonly middleware: Middleware;
  current(ctx: Context): ActiveSession | undefined;
  /**
   * Revokes the session the request came with (fixation defence; `replaced` says why), creates one
   * for `user` and sets its cookie. If the store does not confirm it, the cookie is cleared: no
   * cookie goes out for a session that may not exist.
   */
  start(ctx: Context, user: { id: string; email: string }, replaced: RevokeReason): Promise<ActiveSession>;
  end(ctx: Context, reason: RevokeReason): Promise<void>;
  forget(ctx: Context): void;
}

/** What koa-session keeps in its Session object: only enough for it to know a session is there. */
interface CookieData {
  uid?: string;
}

/** koa-session's per-request context (typed here: its own typings do not reach Koa's Context). */
interface KoaSessionContext {
  session: (CookieData & { regenerate(): Promise<void> }) | null;
}
const koaSessionOf = (ctx: Context) => ctx as unknown as KoaSessionContext;

export function sessionLifecycle(service: SessionService, cookie: SessionCookieOptions, app: Koa): SessionLifecycle {
  /**
   * Each request's RequestSession (made by koa-session, ContextStore, before any route runs) hangs
   * on its context under a symbol of this lifecycle's own: a property, not a WeakMap, whose insert
   * was ~1 us of GET /auth/me and left ephemeron work for every young-generation GC.
   */
  const slot = Symbol('request-session');
  type Held = Context & { [slot]?: RequestSession };
  const requests = {
    get: (ctx: Context): RequestSession | undefined => (ctx as Held)[slot],
    set: (ctx: Context, r: RequestSession) => {
      (ctx as Held)[slot] = r;
    },
  };

  /**
   * koa-session's external-store contract for one request. get validates the cookie's token;
   * set and destroy only accompany the cookie write koa-session is about to make, because the store
   * was already written by an explicit start or end (or the session revoked in bulk): koa-session
   * owns the cookie (name, flags, signature, genid), the service what a session is.
   */
  class RequestSession {
    loaded: ActiveSession | undefined;
    /** The token koa-session's genid hands out next: that of the session start() just created. */
    nextToken: string | undefined;

    constructor(ctx: Context) {
      requests.set(ctx, this);
    }

    async get(token: string): Promise<CookieData | undefined> {
      const v = await service.validate(token);
      if (!v.ok) return undefined;
      this.loaded = v.session;
      return { uid: v.session.record.userId };
    }

    async set(token: string): Promise<void> {
      if (this.loaded?.token !== token) throw new Error('session cookie written for a session start() did not create');
    }

    async destroy(): Promise<void> {}
  }

  const of = (ctx: Context): RequestSession => {
    const r = requests.get(ctx);
    if (!r) throw new Error('no session middleware on this route');
    return r;
  };

  const middleware = session(
    {
      key: cookie.name,
      maxAge: cookie.maxAgeMs,
      httpOnly: true,
      sameSite: 'lax',
      // undefined lets the cookies library set Secure exactly when the request is HTTPS.
      secure: cookie.secure === 'auto' ? undefined : cookie.secure,
      signed: true,
      overwrite: true,
      rolling: false,
      renew: false,
      autoCommit: true,
      genid: (ctx: Context) => {
        const r = requests.get(ctx);
        const token = r?.nextToken ?? newToken();
        if (r) r.nextToken = undefined;
        return token;
      },
      ContextStore: RequestSession,
    },
    app,
  ) as Middleware;

  const clearCookie = (ctx: Context) => {
    of(ctx).loaded = undefined;
    koaSessionOf(ctx).session = null;
  };

  return {
    middleware,
    current: (ctx) => requests.get(ctx)?.loaded,

    async start(ctx, user, replaced) {
      const r = of(ctx);
      try {
        const old = r.loaded;
        if (old) await service.revoke(old.id, replaced);
        r.loaded = undefined;
        // The user's slot tag leads the token (cluster mode: the token must say which slot its
        // session lives in; a user id without a tag gives a plain token).
        const token = newToken(user.id);
        r.loaded = await service.create(token, user, { ip: ctx.ip, userAgent: summariseUserAgent(ctx.get('user-agent')) });
        // koa-session issues the cookie: its regenerate takes the token from genid (this one).
        r.nextToken = token;
        const s = koaSessionOf(ctx).session!;
        s.uid = user.id;
        await s.regenerate();
        return r.loaded;
      } catch (err) {
        clearCookie(ctx);
        throw err;
      }
    },

    async end(ctx, reason) {
      const s = of(ctx).loaded;
      if (s) await service.revoke(s.id, reason);
      clearCookie(ctx);
    },

    forget: clearCookie,
  };
}
