import { describe, it, expect, afterAll } from 'vitest';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import koaHelmet from 'koa-helmet';
import type { HelmetOptions } from 'helmet';
import { API_SECURITY_HEADERS, securityHeaders } from '../../src/http/security-headers.js';

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** Headers of one GET / on a Koa app with `mw` (Date dropped: it moves). */
async function headersWith(mw: Koa.Middleware): Promise<[string, string][]> {
  const app = new Koa();
  app.use(mw);
  app.use((ctx) => {
    ctx.body = { ok: true };
  });
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await r.arrayBuffer();
  return [...r.headers].filter(([k]) => k !== 'date');
}

// The app's own options (API_SECURITY_HEADERS), helmet's defaults, and one more mix.
const OPTIONS: Record<string, HelmetOptions> = {
  app: API_SECURITY_HEADERS,
  defaults: {},
  mix: { strictTransportSecurity: { maxAge: 60, preload: true }, referrerPolicy: { policy: ['origin', 'no-referrer'] }, contentSecurityPolicy: false },
};

describe('securityHeaders', () => {
  it.each(Object.keys(OPTIONS))('sets exactly the headers koa-helmet sets per request (%s options)', async (name) => {
    const opts = OPTIONS[name]!;
    const ours = await headersWith(securityHeaders(opts));
    expect(ours.length).toBeGreaterThan(3);
    expect(ours).toEqual(await headersWith(koaHelmet(opts)));
  });

  it('refuses options whose headers depend on the request (a CSP directive that is a function)', () => {
    expect(() =>
      securityHeaders({ contentSecurityPolicy: { directives: { scriptSrc: ["'self'", (req) => `'nonce-${String((req as { nonce?: string }).nonce)}'`] } } }),
    ).toThrow(/computed per request/);
    expect(() => securityHeaders({ contentSecurityPolicy: { directives: { scriptSrc: [() => "'self'"] } } })).toThrow(/computed per request/);
  });
});
