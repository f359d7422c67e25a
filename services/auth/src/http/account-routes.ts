import type { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Logger } from '../observability/logger.js';
import type { ActiveSession, SessionService } from '../sessions/service.js';
import { authenticatedAt } from '../sessions/service.js';
import type { User, UserRepository } from '../users/repository.js';
import type { PasswordHasher } from '../users/password.js';
import { ChangePasswordBody, DeleteAccountBody, ReauthBody } from './schemas.js';
import { parseBody } from './body.js';
import type { PasswordGate } from './password-gate.js';
import { iso, publicSession } from './session-context.js';
import type { SessionLifecycle } from './session-lifecycle.js';

/** The sudo-mode actions, as auth_account_actions_total labels them. */
export type AccountAction = 'reauth' | 'password_change' | 'account_delete' | 'logout_all' | 'revoke_session';

export interface AccountRouteDeps {
  readonly sessions: SessionService;
  readonly users: UserRepository;
  readonly hasher: PasswordHasher;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly gate: PasswordGate;
  /** 401 unless the request carries a live session (and its CSRF token for unsafe methods). */
  readonly requireSession: Middleware;
  /** Refuses plain HTTP when the cookie must be Secure (the route sets or clears it). */
  readonly cookieRoute: Middleware;
  readonly lifecycle: SessionLifecycle;
  /** The request's session, behind requireSession. */
  readonly current: (ctx: Context) => ActiveSession;
}

/**
 * Sensitive actions need a session that proved the password within REAUTH_WINDOW_SECONDS (ASVS
 * 3.7.1): a session cookie stolen or left open on a shared computer cannot change the password,
 * delete the account or throw the owner's other devices out. 403 REAUTH_REQUIRED tells a client
 * to ask for the password, POST /auth/reauth, and retry.
 */
export function requireRecentAuth(auth: ActiveSession, sessions: SessionService, metrics: Metrics, action: AccountAction): void {
  if (!sessions.isRecentlyAuthenticated(auth)) {
    metrics.accountActions.inc({ action, outcome: 'reauth_required' });
    throw new AppError('REAUTH_REQUIRED');
  }
}

/** Maps a failure of an account action to its metric outcome, then rethrows it. */
function countFailure(metrics: Metrics, action: AccountAction, err: unknown): never {
  const outcome =
    err instanceof AppError
      ? ({
          VALIDATION_FAILED: 'invalid',
          INVALID_PASSWORD: 'invalid_password',
          TOO_MANY_ATTEMPTS: 'throttled',
          REAUTH_REQUIRED: 'reauth_required',
          BUSY: 'busy',
        } as Record<string, string>)[err.code] ?? 'error'
      : 'error';
  // REAUTH_REQUIRED was counted where it was thrown.
  if (outcome !== 'reauth_required') metrics.accountActions.inc({ action, outcome });
  throw err;
}

/** The user behind the session, or 401: a session of a user deleted meanwhile is no session. */
async function sessionUser(users: UserRepository, auth: ActiveSession): Promise<User> {
  const user = await users.findById(auth.record.userId);
  if (!user) throw new AppError('UNAUTHENTICATED');
  return user;
}

/** POST /auth/reauth, POST /auth/password and DELETE /auth/account, on the /auth router. */
export function accountRoutes(router: Router, d: AccountRouteDeps): void {
  const idle = d.sessions.policy.idleTimeoutMs;
  const window = d.sessions.policy.reauthWindowMs;

  const proveOrFail = async (ctx: Context, user: User, password: string) => {
    const { verdict } = await d.gate.check(ctx, user.email, user.passwordHash, password);
    if (!verdict.ok) throw new AppError('INVALID_PASSWORD');
  };

  router.post('/reauth', d.requireSession, async (ctx) => {
    try {
      const body = parseBody(ctx, ReauthBody);
      const auth = d.current(ctx);
      const user = await sessionUser(d.users, auth);
      await proveOrFail(ctx, user, body.password);
      if (!(await d.sessions.reauthenticate(auth))) throw new AppError('UNAUTHENTICATED');
      d.metrics.accountActions.inc({ action: 'reauth', outcome: 'success' });
      const at = authenticatedAt(auth.record);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { reauthenticatedAt: iso(at), reauthExpiresAt: iso(at + window) };
    } catch (err) {
      countFailure(d.metrics, 'reauth', err);
    }
  });

  /**
   * Order matters for what a failure leaves behind. Every other session is revoked before the
   * hash changes (a failure there changes nothing the client cannot retry), and again after it
   * (a login that proved the old password in between is not left standing). Each revocation and
   * the new hash are durable writes: acknowledged means on the replicas, so a failover after the
   * answer neither restores the old password nor an old session. The current session is then
   * rotated: the old token is revoked, a new one set, and the new session counts as freshly
   * authenticated.
   */
  router.post('/password', d.cookieRoute, d.requireSession, async (ctx) => {
    try {
      const body = parseBody(ctx, ChangePasswordBody);
      const auth = d.current(ctx);
      requireRecentAuth(auth, d.sessions, d.metrics, 'password_change');
      const user = await sessionUser(d.users, auth);
      await proveOrFail(ctx, user, body.currentPassword);
      const hash = await d.hasher.hash(body.newPassword);
      let revoked = await d.sessions.revokeAll(user.id, auth.id, 'password_change');
      if (!(await d.users.setPasswordHash(user.id, hash))) throw new AppError('UNAUTHENTICATED');
      revoked += await d.sessions.revokeAll(user.id, auth.id, 'password_change');

      // If only this rotation fails, the password has changed and the other sessions are gone:
      // the client gets the store error and logs in again with the new password.
      const fresh = await d.lifecycle.start(ctx, user, 'password_change');
      d.metrics.accountActions.inc({ action: 'password_change', outcome: 'success' });
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { revoked, session: publicSession(fresh.record, idle), csrfToken: d.sessions.csrf.issue(fresh.id) };
    } catch (err) {
      countFailure(d.metrics, 'password_change', err);
    }
  });

  /**
   * Sessions first, then the user, then the sessions again: a failure after the first step leaves
   * a user who can log in and retry, never a live session of a deleted user; the last sweep
   * catches a login that raced the deletion.
   */
  router.delete('/account', d.cookieRoute, d.requireSession, async (ctx) => {
    try {
      const body = parseBody(ctx, DeleteAccountBody);
      const auth = d.current(ctx);
      requireRecentAuth(auth, d.sessions, d.metrics, 'account_delete');
      const user = await sessionUser(d.users, auth);
      await proveOrFail(ctx, user, body.password);
      await d.sessions.revokeAll(user.id, undefined, 'account_delete');
      d.lifecycle.forget(ctx);
      await d.users.delete(user);
      await d.sessions.revokeAll(user.id, undefined, 'account_delete');
      d.gate.clearDevice(ctx);
      d.metrics.accountActions.inc({ action: 'account_delete', outcome: 'success' });
      ctx.status = 204;
    } catch (err) {
      countFailure(d.metrics, 'account_delete', err);
    }
  });
}
