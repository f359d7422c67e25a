import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startIngress, type Ingress } from '../src/cluster/ingress.js';

const servers: Server[] = [];
let ingress: Ingress | undefined;
afterEach(async () => {
  await ingress?.stop();
  ingress = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
});

async function backend(name: string, ready = true): Promise<string> {
  const s = createServer((req, res) => {
    if (req.url === '/readyz') {
      res.writeHead(ready ? 200 : 503).end();
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, body, xff: req.headers['x-forwarded-for'] ?? null })));
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

const post = async (url: string, body: string): Promise<{ name: string; body: string; xff: string | null }> => {
  const r = await fetch(`${url}/x`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  expect(r.status).toBe(200);
  return (await r.json()) as { name: string; body: string; xff: string | null };
};

describe('ingress', () => {
  it('round-robins without stickiness and adds X-Forwarded-For', async () => {
    ingress = await startIngress({ backends: [{ name: 'a', url: await backend('a') }, { name: 'b', url: await backend('b') }] });
    const names = [];
    for (let i = 0; i < 6; i += 1) names.push((await post(ingress.url, 'hi')).name);
    expect(new Set(names)).toEqual(new Set(['a', 'b']));
    expect(names.filter((n) => n === 'a')).toHaveLength(3);
    expect((await post(ingress.url, 'x')).xff).toContain('127.0.0.1');
  });

  it('passive: a connection error is retried once on the next replica, body included', async () => {
    ingress = await startIngress({ backends: [{ name: 'dead', url: await deadUrl() }, { name: 'b', url: await backend('b') }], healthIntervalMs: 60_000 });
    for (let i = 0; i < 4; i += 1) {
      const r = await post(ingress.url, `body-${i}`);
      expect(r).toMatchObject({ name: 'b', body: `body-${i}` });
    }
    expect(ingress.backends().find((b) => b.name === 'dead')?.healthy).toBe(false);
  });

  it('active: skips a replica whose /readyz fails; fails open when none is ready', async () => {
    ingress = await startIngress({ backends: [{ name: 'a', url: await backend('a', false) }, { name: 'b', url: await backend('b') }], healthIntervalMs: 50 });
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 4; i += 1) expect((await post(ingress.url, '')).name).toBe('b');
    await ingress.stop();
    ingress = await startIngress({ backends: [{ name: 'a', url: await backend('a', false) }], healthIntervalMs: 50 });
    await new Promise((r) => setTimeout(r, 300));
    expect((await post(ingress.url, '')).name).toBe('a');
  });
});
