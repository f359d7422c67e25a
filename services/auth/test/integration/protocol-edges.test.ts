import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import type { TestApp } from '../support/app.js';
import { openApiDocument } from '../../src/http/openapi.js';
import { loadConfig } from '../../src/config.js';
import { Browser, PASSWORD, expectError, readMetric, startOn } from './_helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Raw bytes to the server; resolves with everything it sent back and when the socket closed. */
function raw(url: string, chunks: (string | { wait: number })[], timeoutMs = 10_000) {
  const { hostname, port } = new URL(url);
  return new Promise<{ text: string; closedAfterMs: number }>((resolve, reject) => {
    const start = Date.now();
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ text, closedAfterMs: Date.now() - start }));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`socket still open after ${timeoutMs} ms; got ${JSON.stringify(text)}`));
    }, timeoutMs);
    socket.on('close', () => clearTimeout(timer));
    void (async () => {
      for (const c of chunks) {
        if (socket.destroyed) return;
        if (typeof c === 'string') socket.write(c);
        else await sleep(c.wait);
      }
    })();
  });
}

function parseRaw(text: string) {
  const [head, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  return { status, head, body: JSON.parse(body) as { error: { code: string; message: string } } };
}

describe('protocol edges (memory store)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startOn('memory', undefined, { HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_HEADERS_TIMEOUT_MS: '1500' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('every documented route answers an undocumented method with 405 and an Allow header naming its methods', async () => {
    const paths = openApiDocument().paths as Record<string, Record<string, unknown>>;
    const all = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
    let checked = 0;
    for (const [path, ops] of Object.entries(paths)) {
      const url = app.url + path.replace('{handle}', 'AAAAAAAAAAAAAAAA');
      const documented = Object.keys(ops).map((m) => m.toUpperCase());
      for (const method of all.filter((m) => !documented.includes(m))) {
        const r = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
        const body = (await r.json()) as { error: { code: string } };
        expect({ path, method, status: r.status, code: body.error.code }).toEqual({ path, method, status: 405, code: 'METHOD_NOT_ALLOWED' });
        const allow = (r.headers.get('allow') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        for (const m of documented) expect(allow, `${method} ${path}`).toContain(m);
        expect(allow).not.toContain(method);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
    // An unknown path stays a 404, whatever the method.
    const r = await fetch(`${app.url}/nowhere`, { method: 'PROPFIND' });
    expect(r.status).toBe(404);
    expect(r.headers.get('allow')).toBeNull();
  });

  it('headers too large: 431 in the JSON error shape', async () => {
    const { text } = await raw(app.url, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`]);
    const r = parseRaw(text);
    expect(r.status).toBe(431);
    expect(r.body.error.code).toBe('HEADERS_TOO_LARGE');
    expect(r.head).toMatch(/content-type: application\/json/i);
  });

  it('malformed framing: 400 BAD_REQUEST in the JSON error shape, and no echo of what was sent', async () => {
    const { text } = await raw(app.url, ['POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\nCookie: sid=SECRET\r\n\r\n']);
    const r = parseRaw(text);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('BAD_REQUEST');
    expect(text).not.toContain('SECRET');
    expect(app.logs()).not.toContain('SECRET');
    expect(await readMetric(app, 'http_client_errors_total', { code: 'BAD_REQUEST' })).toBeGreaterThanOrEqual(1);
  });

  it('a body that trickles in is cut at the request timeout with a JSON 408, and the socket closed', async () => {
    const body = JSON.stringify({ email: 'slow@example.com', password: PASSWORD });
    const chunks: (string | { wait: number })[] = [
      `POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    ];
    for (const ch of body) chunks.push(ch, { wait: 200 });
    const { text, closedAfterMs } = await raw(app.url, chunks);
    const r = parseRaw(text);
    expect(r.status).toBe(408);
    expect(r.body.error.code).toBe('REQUEST_TIMEOUT');
    // HTTP_REQUEST_TIMEOUT_MS=2000: cut within the second Node takes to check, never the ~80 s of before.
    expect(closedAfterMs).toBeGreaterThanOrEqual(1900);
    expect(closedAfterMs).toBeLessThan(3500);
  });

  it('headers that trickle in are cut at the headers timeout with a JSON 408', async () => {
    const chunks: (string | { wait: number })[] = ['GET /healthz HTTP/1.1\r\nHost: x\r\n'];
    for (let i = 0; i < 30; i++) chunks.push(`X-Slow-${i}: 1\r\n`, { wait: 200 });
    const { text, closedAfterMs } = await raw(app.url, chunks);
    expect(parseRaw(text)).toMatchObject({ status: 408, body: { error: { code: 'REQUEST_TIMEOUT' } } });
    expect(closedAfterMs).toBeLessThan(3500);
  });

  it('email normalisation keeps distinct mailboxes apart and bounds the local part', async () => {
    const b = new Browser(app.url);
    const tag = `n${process.pid}${Date.now()}`;
    expect((await b.register(`paul2${tag}@example.com`, PASSWORD)).status).toBe(201);
    // NFKC made these paul2@ and fi@: now they are refused as addresses, never folded into another account.
    for (const e of [`paul²${tag}@example.com`, `ﬁ${tag}@example.com`, `Ｐaul2${tag}@example.com`]) {
      const r = await b.register(e, PASSWORD);
      expectError(r, 400, 'VALIDATION_FAILED');
      expect(JSON.stringify(r.body)).toContain('email');
    }
    expectError(await b.login(`paul²${tag}@example.com`, PASSWORD), 400, 'VALIDATION_FAILED');
    // Case and surrounding space are one account, as before.
    expect((await new Browser(app.url).login(`  PAUL2${tag}@Example.COM `, PASSWORD)).status).toBe(200);
    const local64 = `${'x'.repeat(64 - tag.length)}${tag}`;
    expect((await b.register(`${local64}@example.com`, PASSWORD)).status).toBe(201);
    const tooLong = await b.register(`${local64}y@example.com`, PASSWORD);
    expectError(tooLong, 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(tooLong.body)).toContain('64 octets');
    expectError(await b.register(`${'a'.repeat(60)}@${'b'.repeat(190)}.com`, PASSWORD), 400, 'VALIDATION_FAILED');
  });

  it('the OpenAPI document is as strict as the validation and names the production cookie and its .sig', async () => {
    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as {
      components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>> }>; securitySchemes: Record<string, { name: string }> };
    };
    const reg = doc.components.schemas.RegisterBody!.properties;
    expect(reg.email).toMatchObject({ type: 'string', format: 'email', maxLength: 254 });
    expect(new RegExp(reg.email!.pattern as string).test('a@example.com')).toBe(true);
    expect(new RegExp(reg.email!.pattern as string).test(`${'a'.repeat(65)}@example.com`)).toBe(false);
    expect(reg.password).toMatchObject({ type: 'string', minLength: 8, maxLength: 1024 });
    expect(doc.components.schemas.ChangePasswordBody!.properties.newPassword).toMatchObject({ minLength: 8, maxLength: 1024 });
    expect(Object.values(doc.components.securitySchemes).map((s) => s.name).sort()).toEqual(['__Host-sid', '__Host-sid.sig']);
    // The name documented is the one production uses.
    expect(loadConfig({ NODE_ENV: 'production', SESSION_KEYS: 'k'.repeat(32) }).session.cookieName).toBe('__Host-sid');
  });
});
