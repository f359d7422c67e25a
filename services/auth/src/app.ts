import Koa from 'koa';
import { FastKeygrip } from './security/keygrip.js';
import type { Config } from './config.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { errorHandler } from './http/errors.js';
import { requestContext } from './http/request-context.js';
import { jsonBody } from './http/body.js';
import { originCheck } from './http/csrf.js';
import { authRoutes } from './http/auth-routes.js';
import { opsRoutes, type Lifecycle } from './http/ops-routes.js';
import { webRoutes } from './http/web-routes.js';
import { sessionLifecycle } from './http/session-lifecycle.js';
import type { SessionService } from './sessions/service.js';
import type { UserRepository } from './users/repository.js';
import type { PasswordHasher } from './users/password.js';
import type { LoginThrottle } from './security/throttle.js';
import { DeviceCookies } from './security/device-cookie.js';
import { passwordGate } from './http/password-gate.js';
import { chain } from './http/chain.js';
import { API_SECURITY_HEADERS, securityHeaders } from './http/security-headers.js';

export interface AppDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly sessions: SessionService;
  readonly users: UserRepository;
  readonly hasher: PasswordHasher;
  readonly throttle: LoginThrottle;
  readonly lifecycle: Lifecycle;
}

/** The middleware order, outermost first, in one place. */
export function createApp(d: AppDeps): Koa {
  const app = new Koa({ env: d.config.env, proxy: d.config.http.trustProxy, maxIpsCount: d.config.http.proxyHops });
  // Same signatures and rotation as Koa's default keygrip; a cookie verified once is not
  // HMAC'd again on every request (security/keygrip.ts).
  app.keys = new FastKeygrip(d.config.session.keys) as unknown as string[];
  // Errors are answered and logged by errorHandler; Koa's default stderr dump would duplicate them.
  app.silent = true;

  const s = d.config.session;
  const lifecycle = sessionLifecycle(d.sessions, { name: s.cookieName, maxAgeMs: s.absoluteTimeoutMs, secure: s.cookieSecure }, app);

  const gate = passwordGate({
    throttle: d.throttle,
    hasher: d.hasher,
    metrics: d.metrics,
    devices: new DeviceCookies(d.config.session.keys, d.config.throttle.deviceCookieMaxAgeMs),
    deviceCookie: {
      name: d.config.throttle.deviceCookieName,
      maxAgeMs: d.config.throttle.deviceCookieMaxAgeMs,
      secure: d.config.session.cookieSecure,
    },
  });
  const web = webRoutes();
  const ops = opsRoutes({ store: d.sessions.store, registry: d.metrics.registry, lifecycle: d.lifecycle });
  const auth = authRoutes({
    sessions: d.sessions,
    users: d.users,
    hasher: d.hasher,
    throttle: d.throttle,
    metrics: d.metrics,
    logger: d.logger,
    // Only /auth routes pay for the origin check, body parsing and the session lookup.
    cookieSecure: d.config.session.cookieSecure,
    gate,
    lifecycle,
    before: [
      originCheck(d.config.http.publicOrigin),
      jsonBody(d.config.http.bodyLimitBytes, d.config.http.requestTimeoutMs),
      lifecycle.middleware,
    ],
  });

  // Not `throw: true`: then the router throws before it sets Allow. It answers 405 (or 501 for a
  // method it does not know) with Allow set, and errorHandler turns that into the JSON error,
  // keeping the header (RFC 9110 15.5.6).
  const allowed = { throw: false };
  app.use(errorHandler(d.logger));
  app.use(requestContext(d.logger, d.metrics));
  app.use(securityHeaders(API_SECURITY_HEADERS));
  // A path under /auth/ can only match the auth router, any other path only the page and ops
  // routers: each router matches a request against every route it has, so a request runs only the
  // routers that can answer it (the same 404/405 answers: a router that cannot match adds nothing).
  // Case-insensitive, as the routers match.
  const authStack = chain([auth.routes(), auth.allowedMethods(allowed)]);
  const otherStack = chain([web.routes(), web.allowedMethods(allowed), ops.routes(), ops.allowedMethods(allowed)]);
  const route: typeof authStack = (ctx, next) => (ctx.path.slice(0, 6).toLowerCase() === '/auth/' ? authStack(ctx, next) : otherStack(ctx, next));
  app.use(route);
  return app;
}
