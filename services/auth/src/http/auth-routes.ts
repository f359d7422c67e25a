import { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { ActiveSession, SessionService } from '../sessions/service.js';
import type { LoginThrottle } from '../security/throttle.js';
import { EmailTakenError, type User, type UserRepository } from '../users/repository.js';
import type { PasswordHasher } from '../users/password.js';
import type { Logger } from '../observability/logger.js';
import { HandleParam, LoginBody, LogoutAllBody, RegisterBody } from './schemas.js';
import { parseBody } from './body.js';
import { chain } from './chain.js';
import { requireCsrfToken, requireHttpsWhenSecure } from './csrf.js';
import type { PasswordGate } from './password-gate.js';
import { accountRoutes, requireRecentAuth } from './account-routes.js';
import { iso, publicSession } from './session-context.js';
import type { SessionLifecycle } from './session-lifecycle.js';

export interface AuthRouteDeps {
  readonly sessions: SessionService;
  readonly users: UserRepository;
  readonly hasher: PasswordHasher;
  readonly throttle: LoginThrottle;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Runs before every /auth route (origin check, body parser, session loading). */
  readonly before: Middleware[];
  readonly cookieSecure: boolean | 'auto';
  readonly gate: PasswordGate;
  readonly lifecycle: SessionLifecycle;
}

export function authRoutes(d: AuthRouteDeps): Router {
  const router = new Router({ prefix: '/auth' });
  // @koa/router runs use() layers in registration order, so these must precede the routes; one
  // layer for all of them (http/chain.ts).
  router.use(chain(d.before));
  const idle = d.sessions.policy.idleTimeoutMs;

  /** 401 unless the cookie named a live session; renews "last seen" when due; enforces CSRF. */
  const requireSession: Middleware = async (ctx, next) => {
    const auth = d.lifecycle.current(ctx);
    if (!auth) {
      d.sessions.recordMissing();
      throw new AppError('UNAUTHENTICATED');
    }
    requireCsrfToken(ctx, auth.id, (id, t) => d.sessions.csrf.verify(id, t));
    await d.sessions.touchIfDue(auth);
    return next();
  };

  /** The request's session, behind requireSession. */
  const current = (ctx: Context): ActiveSession => {
    const auth = d.lifecycle.current(ctx);
    if (!auth) throw new AppError('UNAUTHENTICATED');
    return auth;
  };
  // Routes that set or clear the session cookie: refused up front over plain HTTP when the cookie
  // must be Secure, before a session is created or revoked for a response that cannot carry it.
  const cookieRoute = requireHttpsWhenSecure(d.cookieSecure);

  router.post('/register', async (ctx) => {
    let body;
    try {
      body = parseBody(ctx, RegisterBody);
    } catch (err) {
      d.metrics.registrations.inc({ outcome: 'invalid' });
      throw err;
    }
    // A registration costs an argon2 hash from the pool logins use: it counts against the
    // client's attempts, or one client could fill the hash queue and turn logins into 503s.
    const decision = await d.throttle.checkIp(ctx.ip);
    if (!decision.allowed) {
      d.metrics.registrations.inc({ outcome: 'throttled' });
      throw new AppError('TOO_MANY_ATTEMPTS', { retryAfter: Math.ceil(decision.retryAfterMs / 1000) });
    }
    let user: User;
    try {
      const hash = await d.hasher.hash(body.password, { background: true });
      user = await d.users.create(body.email, hash);
    } catch (err) {
      if (err instanceof EmailTakenError) {
        d.metrics.registrations.inc({ outcome: 'email_taken' });
        throw new AppError('EMAIL_TAKEN');
      }
      d.metrics.registrations.inc({ outcome: err instanceof AppError && err.code === 'BUSY' ? 'busy' : 'error' });
      throw err;
    }
    d.metrics.registrations.inc({ outcome: 'success' });
    ctx.status = 201;
    ctx.body = { user: { id: user.id, email: user.email, createdAt: iso(user.createdAt) } };
  });

  router.post('/login', cookieRoute, async (ctx) => {
    const body = parseBody(ctx, LoginBody);
    try {
      const found = d.users.findByEmail(body.email);
      // Same throttle and the same argon2 cost whether or not the account exists.
      const { verdict } = await d.gate.check(ctx, body.email, found.then((u) => u?.passwordHash), body.password);
      const user = await found;
      if (!user || !verdict.ok) {
        d.metrics.logins.inc({ outcome: 'invalid_credentials' });
        throw new AppError('INVALID_CREDENTIALS');
      }
      if (verdict.rehashed) {
        await d.users.updatePasswordHash(user.id, verdict.rehashed).catch((err: Error) =>
          d.logger.warn({ err: { message: err.message } }, 'password rehash not saved'),
        );
      }

      // Fixation defence: whatever session the request came with is revoked, and the new one
      // gets a fresh token.
      const auth = await d.lifecycle.start(ctx, user, 'logout');
      // This browser now has a throttle budget of its own for this account.
      d.gate.issueDevice(ctx, user.email);
      d.metrics.logins.inc({ outcome: 'success' });
      ctx.body = {
        user: { id: user.id, email: user.email },
        session: publicSession(auth.record, idle),
        csrfToken: d.sessions.csrf.issue(auth.id),
      };
    } catch (err) {
      if (err instanceof AppError) {
        if (err.code === 'BUSY') d.metrics.logins.inc({ outcome: 'busy' });
        if (err.code === 'TOO_MANY_ATTEMPTS') d.metrics.logins.inc({ outcome: 'throttled' });
      } else {
        d.metrics.logins.inc({ outcome: 'error' });
      }
      throw err;
    }
  });

  router.post('/logout', cookieRoute, requireSession, async (ctx) => {
    await d.lifecycle.end(ctx, 'logout');
    ctx.status = 204;
  });

  router.get('/me', requireSession, async (ctx) => {
    const auth = current(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      user: { id: auth.record.userId, email: auth.record.email },
      session: publicSession(auth.record, idle),
      csrfToken: d.sessions.csrf.issue(auth.id),
    };
  });

  router.get('/sessions', requireSession, async (ctx) => {
    const auth = current(ctx);
    const list = await d.sessions.list(auth.record.userId);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      sessions: list.map(({ id, record }) => ({
        ...publicSession(record, idle),
        expiresAt: iso(Math.min(record.lastSeenAt + idle, record.absoluteExpiresAt)),
        ip: record.ip,
        userAgent: record.userAgent,
        current: id === auth.id,
      })),
    };
  });

  router.delete('/sessions/:handle', cookieRoute, requireSession, async (ctx) => {
    const auth = current(ctx);
    const handle = HandleParam.safeParse(ctx.params.handle);
    if (!handle.success) throw new AppError('SESSION_NOT_FOUND');
    if (handle.data === auth.record.handle) {
      await d.lifecycle.end(ctx, 'revoke');
      ctx.status = 204;
      return;
    }
    // Ending another device's session is a sensitive action; ending this one is a logout.
    requireRecentAuth(auth, d.sessions, d.metrics, 'revoke_session');
    const target = (await d.sessions.list(auth.record.userId)).find((s) => s.record.handle === handle.data);
    if (!target) throw new AppError('SESSION_NOT_FOUND');
    await d.sessions.revoke(target.id, 'revoke');
    d.metrics.accountActions.inc({ action: 'revoke_session', outcome: 'success' });
    ctx.status = 204;
  });

  router.post('/logout-all', cookieRoute, requireSession, async (ctx) => {
    const body = parseBody(ctx, LogoutAllBody);
    const auth = current(ctx);
    requireRecentAuth(auth, d.sessions, d.metrics, 'logout_all');
    const revoked = await d.sessions.revokeAll(auth.record.userId, body.keepCurrent ? auth.id : undefined);
    // The current session went with the others: only its cookie is left to clear.
    if (!body.keepCurrent) d.lifecycle.forget(ctx);
    d.metrics.accountActions.inc({ action: 'logout_all', outcome: 'success' });
    ctx.body = { revoked };
  });

  accountRoutes(router, { ...d, requireSession, cookieRoute, current });

  return router;
}
