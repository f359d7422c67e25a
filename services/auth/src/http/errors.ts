import type { Middleware } from 'koa';
import { AppError, StoreError, storeErrorToAppError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { requestLogger } from './request-log.js';

/** Errors from body parsing and routing libraries carry an HTTP status; give each a stable code. */
function fromHttpError(err: { status?: number; statusCode?: number; type?: string }): AppError | undefined {
  const status = err.status ?? err.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  if (status === 413) return new AppError('PAYLOAD_TOO_LARGE');
  if (status === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE');
  if (status === 404) return new AppError('NOT_FOUND');
  if (status === 405) return new AppError('METHOD_NOT_ALLOWED');
  if (status === 400) return new AppError('MALFORMED_JSON');
  return new AppError('VALIDATION_FAILED');
}

/**
 * What the `cookies` module throws when asked for a Secure cookie on a request Koa does not see as
 * HTTPS (COOKIE_SECURE=true, but plain HTTP, or TLS ended at a proxy without TRUST_PROXY=true).
 */
const INSECURE_COOKIE = 'Cannot send secure cookie over unencrypted connection';

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof StoreError) return storeErrorToAppError(err);
  if (err instanceof Error && err.message === INSECURE_COOKIE) return new AppError('HTTPS_REQUIRED', { cause: err });
  return fromHttpError((err ?? {}) as { status?: number }) ?? new AppError('INTERNAL', { cause: err });
}

/**
 * Outermost middleware: every failure becomes `{error:{code,message}}` with a stable code. 5xx
 * messages are generic; the cause goes to the log (never the request body, cookies or tokens).
 */
export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError('NOT_FOUND');
      // The router's answer to a method a route does not have (Allow is already set). A method
      // it does not know on a path no route has is a 501 with an empty Allow: that is a 404.
      if ((ctx.status === 405 || ctx.status === 501) && ctx.body == null) {
        if (!ctx.response.get('Allow')) {
          ctx.remove('Allow');
          throw new AppError('NOT_FOUND');
        }
        throw new AppError('METHOD_NOT_ALLOWED');
      }
    } catch (raw) {
      const err = toAppError(raw);
      ctx.status = err.status;
      ctx.body = {
        error: {
          code: err.code,
          message: err.message,
          ...(err.expose && err.details !== undefined ? { details: err.details } : {}),
        },
      };
      if (err.retryAfter !== undefined) ctx.set('Retry-After', String(err.retryAfter));
      const log = requestLogger(ctx, logger);
      if (err.code === 'HTTPS_REQUIRED') {
        log.warn(
          { code: err.code },
          'secure session cookie refused on a plain HTTP request: serve over HTTPS, or set TRUST_PROXY=true behind a TLS-terminating proxy',
        );
      } else if (err.status >= 500) {
        const cause = (err.cause ?? raw) as { message?: string; name?: string; kind?: string; op?: string };
        log.warn(
          { code: err.code, cause: { name: cause?.name, message: cause?.message, kind: cause?.kind, op: cause?.op } },
          'request failed',
        );
      }
    }
  };
}
