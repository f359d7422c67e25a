import type { Context, Middleware } from 'koa';
import { AppError } from '../errors.js';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function isUnsafe(method: string): boolean {
  return UNSAFE.has(method);
}

/**
 * The service's own origin as this request reached it (behind a trusted proxy, from
 * X-Forwarded-Proto/-Host). Not `ctx.origin`: since Koa 3 that is the request's Origin header, so
 * comparing against it let every cross-site request through.
 */
function ownOrigin(ctx: Context): string {
  return `${ctx.protocol}://${ctx.host}`;
}

/**
 * First CSRF layer, for every unsafe request including login and register (login CSRF): browsers
 * send Sec-Fetch-Site or Origin on cross-site requests, and we refuse any that is not same-origin.
 * A request with neither header is not from a browser and cannot carry a victim's ambient cookie
 * by way of a forged form, so it passes; the per-session token below still applies to it.
 */
export function originCheck(publicOrigin: string | undefined): Middleware {
  return async (ctx, next) => {
    if (isUnsafe(ctx.method)) {
      const site = ctx.get('sec-fetch-site');
      if (site) {
        if (site !== 'same-origin' && site !== 'none') throw new AppError('CSRF_ORIGIN_MISMATCH');
      } else {
        const origin = ctx.get('origin');
        if (origin && origin !== (publicOrigin ?? ownOrigin(ctx))) throw new AppError('CSRF_ORIGIN_MISMATCH');
      }
    }
    return next();
  };
}

/**
 * With COOKIE_SECURE=true the session cookie can only be set (or cleared) over HTTPS; refusing
 * such a route over plain HTTP up front keeps a login from creating, and a logout from revoking,
 * a session whose cookie the response could never carry.
 */
export function requireHttpsWhenSecure(cookieSecure: boolean | 'auto'): Middleware {
  return async (ctx, next) => {
    if (cookieSecure === true && isUnsafe(ctx.method) && !ctx.secure) throw new AppError('HTTPS_REQUIRED');
    return next();
  };
}

/** Second layer: an authenticated unsafe request must echo the per-session CSRF token. */
export function requireCsrfToken(
  ctx: Context,
  sessionId: string,
  verify: (sessionId: string, token: unknown) => boolean,
): void {
  if (isUnsafe(ctx.method) && !verify(sessionId, ctx.get('x-csrf-token'))) {
    throw new AppError('CSRF_TOKEN_INVALID');
  }
}
