import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Router } from '@koa/router';

/**
 * The page's policy: its one script, its stylesheet, its icon and fetches to this origin, nothing
 * else. No 'unsafe-inline' anywhere, and Trusted Types enforced with no policy allowed, so no
 * string can ever become HTML or script in it (web/app.js builds every node with the DOM API).
 * form-action stops an injected form posting elsewhere; base-uri stops a <base> rewriting paths.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** services/auth/web, from src/http (tsx) and dist/http (node) alike. */
const WEB_DIR = new URL('../../web/', import.meta.url);

/** Route path -> file in web/ and its media type. */
export const PAGE_FILES = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
} as const;

/**
 * The same-origin web page: four static files read once at start-up, revalidated by ETag
 * (no-cache: a deploy's new page is seen on the next load). Same origin as the API, so the
 * session cookie stays SameSite=Lax and host-only, and no CORS is ever needed.
 */
export function webRoutes(dir: URL = WEB_DIR): Router {
  const router = new Router();
  for (const [path, { file, type }] of Object.entries(PAGE_FILES)) {
    const body = readFileSync(new URL(file, dir));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    router.get(path, (ctx) => {
      ctx.set('Cache-Control', 'no-cache');
      ctx.set('ETag', etag);
      if (type.startsWith('text/html')) ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.status = 200;
      if (ctx.fresh) {
        ctx.status = 304;
        return;
      }
      ctx.type = type;
      ctx.body = body;
    });
  }
  return router;
}
