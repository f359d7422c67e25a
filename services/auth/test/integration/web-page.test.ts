/**
 * The web page's routes at the HTTP level (the browser tests in test/browser run it in Chromium):
 * what is served, under which headers, and that the API's own strict policy is untouched.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../support/app.js';
import { PAGE_CSP, PAGE_FILES } from '../../src/http/web-routes.js';

let app: TestApp;
beforeAll(async () => {
  app = await startApp({ SESSION_STORE: 'memory' });
});
afterAll(async () => {
  await app.close();
});

const web = (file: string) => readFileSync(new URL(`../../web/${file}`, import.meta.url), 'utf8');

describe('the web page', () => {
  it('serves each file with its media type, no-cache and an ETag; 304 when unchanged', async () => {
    for (const [path, { file, type }] of Object.entries(PAGE_FILES)) {
      const r = await fetch(`${app.url}${path}`);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type')).toBe(type);
      expect(r.headers.get('cache-control')).toBe('no-cache');
      expect(await r.text()).toBe(web(file));
      const etag = r.headers.get('etag')!;
      expect(etag).toMatch(/^"[\w-]{27}"$/);
      // As a browser revalidates. (fetch adds Cache-Control: no-cache to a conditional request
      // unless one is given, and a no-cache request is never answered 304.)
      const again = await fetch(`${app.url}${path}`, { headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' } });
      expect(again.status, path).toBe(304);
      expect(await again.text()).toBe('');
    }
  });

  it('the page runs under its own CSP: no inline script or style, Trusted Types, no framing', async () => {
    const r = await fetch(`${app.url}/`);
    const csp = r.headers.get('content-security-policy');
    expect(csp).toBe(PAGE_CSP);
    expect(csp).not.toMatch(/unsafe-|data:|\*/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    // Nothing inline for the CSP to have to allow: no <script> body, no style attribute or element.
    const html = web('index.html');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    // The script never turns a string into markup (Trusted Types would refuse it anyway).
    expect(web('app.js')).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  });

  it('the API keeps its stricter policy (nothing may load from a JSON answer)', async () => {
    const r = await fetch(`${app.url}/auth/me`);
    expect(r.status).toBe(401);
    expect(r.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
    expect(r.headers.get('x-frame-options')).toBe('DENY');
  });

  it('only GET and HEAD: other methods are 405 with Allow', async () => {
    const head = await fetch(`${app.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const post = await fetch(`${app.url}/`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toContain('GET');
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
  });
});
