import type { Context } from 'koa';
import type { Logger } from '../observability/logger.js';

/**
 * The request's child logger, made only when something logs: most requests never do, and a
 * child logger per request (then a lazy per-request property, ~1% of GET /auth/me) showed in the
 * profile.
 */
export function requestLogger(ctx: Context, logger: Logger): Logger {
  const state = ctx.state as { requestId?: string; log?: Logger };
  if (!state.requestId) return logger;
  return (state.log ??= logger.child({ reqId: state.requestId }));
}
