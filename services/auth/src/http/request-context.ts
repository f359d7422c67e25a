import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { toAppError } from './errors.js';
import { requestLogger } from './request-log.js';

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Request id (taken from X-Request-Id when it is sane, so a trace crosses the ingress), a child
 * logger, and the HTTP latency histogram labelled by route pattern (never the raw path: a path
 * with a session handle in it would explode label cardinality).
 */
export function requestContext(logger: Logger, metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    const incoming = ctx.get('x-request-id');
    const id = REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    const log = () => requestLogger(ctx, logger);
    // errorHandler (outside this middleware) sets the status of a failed request only after this
    // finally has run; without this the metric and log said 404 for every error response.
    let failedStatus: number | undefined;
    try {
      await next();
    } catch (err) {
      failedStatus = toAppError(err).status;
      throw err;
    } finally {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const status = failedStatus ?? ctx.status;
      metrics.http.observe({ method: ctx.method, route, status: String(status) }, seconds);
      // Successful requests log at debug: at thousands of requests per second an info line each
      // would cost more than the request.
      const level = status >= 500 ? 'warn' : 'debug';
      if (logger.isLevelEnabled(level)) {
        log()[level](
          { method: ctx.method, route, status, ms: Math.round(seconds * 1e4) / 10, ip: ctx.ip },
          'request',
        );
      }
    }
  };
}
