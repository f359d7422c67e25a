import Koa from 'koa';
import session from 'koa-session';
import helmet from 'koa-helmet';
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
import { koaSessionStore } from './sessions/koa-adapter.js';
import type { SessionService } from './sessions/service.js';
import { newToken } from './sessions/token.js';
import type { UserRepository } from './users/repository.js';
import type { PasswordHasher } from './users/password.js';
import type { LoginThrottle } from './security/throttle.js';
import { DeviceCookies } from './security/device-cookie.js';
import { passwordGate } from './http/password-gate.js';

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
  // Same signatures as Koa's default keygrip, at a third of the CPU (security/keygrip.ts).
  app.keys = new FastKeygrip(d.config.session.keys) as unknown as string[];
  // Errors are answered and logged by errorHandler; Koa's default stderr dump would duplicate them.
  app.silent = true;

  const s = d.config.session;
  const sessionMiddleware = session(
    {
      key: s.cookieName,
      maxAge: s.absoluteTimeoutMs,
      httpOnly: true,
      sameSite: 'lax',
      // undefined lets the cookies library set Secure exactly when the request is HTTPS.
      secure: s.cookieSecure === 'auto' ? undefined : s.cookieSecure,
      signed: true,
      overwrite: true,
      rolling: false,
      renew: false,
      autoCommit: true,
      genid: () => newToken(),
      store: koaSessionStore(d.sessions),
    },
    app,
  );

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
    before: [
      originCheck(d.config.http.publicOrigin),
      jsonBody(d.config.http.bodyLimitBytes, d.config.http.requestTimeoutMs),
      sessionMiddleware,
    ],
  });

  // Not `throw: true`: then the router throws before it sets Allow. It answers 405 (or 501 for a
  // method it does not know) with Allow set, and errorHandler turns that into the JSON error,
  // keeping the header (RFC 9110 15.5.6).
  const allowed = { throw: false };
  app.use(errorHandler(d.logger));
  app.use(requestContext(d.logger, d.metrics));
  // A JSON API needs the headers that stop sniffing, framing and referrer leaks, not a page CSP.
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      crossOriginEmbedderPolicy: false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
    }),
  );
  app.use(ops.routes());
  app.use(ops.allowedMethods(allowed));
  app.use(auth.routes());
  app.use(auth.allowedMethods(allowed));
  return app;
}
