import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * A JSON API needs the headers that stop sniffing, framing and referrer leaks, not a page CSP; the
 * page's routes (http/web-routes.ts) replace this CSP with the one the page needs.
 */
export const API_SECURITY_HEADERS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginEmbedderPolicy: false,
  // frame-ancestors 'none' says the same to current browsers; DENY for the older ones.
  xFrameOptions: { action: 'deny' },
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
};

/**
 * helmet's headers, worked out once: helmet is run at start-up against a response that only
 * records what it sets and removes, and every request gets exactly that. Per request, koa-helmet
 * went through util.promisify and helmet's chain of one middleware per header (3.1 of ~62 us of
 * GET /auth/me); now it is the setHeader calls alone. Only for options with no per-request part
 * (helmet computes the CSP per request only when a directive is a function): refused otherwise.
 */
export function securityHeaders(options: Readonly<HelmetOptions>): Middleware {
  const set: [string, string][] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      set.push([name, String(value)]);
      return recorder;
    },
    removeHeader(name: string) {
      removed.push(name);
    },
  };
  const csp = options.contentSecurityPolicy;
  const directives = typeof csp === 'object' ? Object.values(csp.directives ?? {}) : [];
  if (directives.flat().some((v) => typeof v === 'function')) {
    throw new Error('securityHeaders: a CSP directive computed per request cannot be worked out once; use koa-helmet per request');
  }
  let done = false;
  // Anything else of helmet's that read the request would fail here rather than be frozen.
  const req = new Proxy({}, { get: () => { throw new Error('securityHeaders: these helmet options read the request; use koa-helmet per request'); } });
  helmet(options)(req as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err instanceof Error ? err : new Error(String(err));
    done = true;
  });
  // helmet's chain is synchronous; a middleware that deferred would not have run yet.
  if (!done) throw new Error('securityHeaders: helmet did not finish synchronously');
  return (ctx, next) => {
    const res = ctx.res;
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
    return next();
  };
}
