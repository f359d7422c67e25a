/**
 * The local ingress: round-robin over the app replicas, no sticky sessions, built on http-proxy-3
 * (the maintained TypeScript rewrite of http-proxy, same API; http-proxy itself has had no release
 * since 2020 and leaks sockets on aborted requests).
 *
 * Health: active (GET /readyz on every replica every 500 ms, 400 ms timeout) and passive (a
 * connection error marks the replica down until the next good check and the request is retried
 * once on the next replica; the body is buffered first, bounded, so a retry can resend it).
 * When no replica is healthy (e.g. standalone Redis down: every /readyz says 503) the ingress
 * fails open and keeps round-robining over all of them, so clients get the app's own fast
 * 503 STORE_UNAVAILABLE instead of an ingress error (Envoy calls this "panic mode").
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';

export interface Backend {
  name: string;
  url: string;
  healthy: boolean;
  lastStatus: number | 'error' | 'pending';
  requests: number;
  failures: number;
}

export interface IngressOptions {
  port?: number;
  backends: { name: string; url: string }[];
  healthIntervalMs?: number;
  /** Bound of one proxied request (the apps answer within ~1 s even when Redis is down). */
  proxyTimeoutMs?: number;
  maxBodyBytes?: number;
  /**
   * Terminate TLS here (PEM key and certificate), as a real edge does: the replicas get plain
   * HTTP with X-Forwarded-Proto: https, so with TRUST_PROXY=true they set Secure `__Host-` cookies.
   */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface Ingress {
  readonly url: string;
  readonly port: number;
  backends(): Backend[];
  stats(): { requests: number; retries: number; proxyErrors: number };
  stop(): Promise<void>;
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ECONNABORTED']);

export async function startIngress(opts: IngressOptions): Promise<Ingress> {
  const backends: Backend[] = opts.backends.map((b) => ({ ...b, healthy: true, lastStatus: 'pending', requests: 0, failures: 0 }));
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const proxy = createProxyServer({ xfwd: true, agent, proxyTimeout: opts.proxyTimeoutMs ?? 10_000 });
  const maxBody = opts.maxBodyBytes ?? 64 * 1024;
  const counters = { requests: 0, retries: 0, proxyErrors: 0 };
  let next = 0;

  function pick(exclude?: Backend): Backend | undefined {
    const healthy = backends.filter((b) => b.healthy && b !== exclude);
    const pool = healthy.length > 0 ? healthy : backends.filter((b) => b !== exclude);
    if (pool.length === 0) return undefined;
    next = (next + 1) % 1_000_000;
    return pool[next % pool.length];
  }

  function send(req: IncomingMessage, res: ServerResponse, body: Buffer, backend: Backend, attempt: number): void {
    backend.requests += 1;
    // Which replica answered: the chaos runner tells the two sides of a partition apart by it.
    if (!res.headersSent) res.setHeader('x-backend', backend.name);
    proxy.web(req, res, { target: backend.url, buffer: Readable.from(body.length ? [body] : []) }, (err) => {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      backend.failures += 1;
      if (CONNECTION_ERRORS.has(code)) backend.healthy = false; // passive health check
      const retry = attempt === 0 && CONNECTION_ERRORS.has(code) && !res.headersSent && !req.socket.destroyed;
      const alternative = retry ? pick(backend) : undefined;
      if (alternative) {
        counters.retries += 1;
        send(req, res, body, alternative, 1);
        return;
      }
      counters.proxyErrors += 1;
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'BAD_GATEWAY', message: `ingress: ${code || err.message}` } }));
      } else {
        res.destroy();
      }
    });
  }

  const handler: RequestListener = (req, res) => {
    counters.requests += 1;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) {
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'ingress body limit' } }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      const backend = pick();
      if (!backend) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'NO_BACKEND', message: 'ingress: no replica' } }));
        return;
      }
      send(req, res, Buffer.concat(chunks), backend, 0);
    });
    req.on('error', () => res.destroy());
  };
  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : createServer(handler);
  server.keepAliveTimeout = 30_000;

  // Active health checks: /readyz every interval; one check in flight per replica at most.
  const inFlight = new Set<Backend>();
  const check = (b: Backend): void => {
    if (inFlight.has(b)) return;
    inFlight.add(b);
    const r = httpRequest(`${b.url}/readyz`, { timeout: 400, agent: false }, (resp) => {
      resp.resume();
      b.lastStatus = resp.statusCode ?? 0;
      b.healthy = resp.statusCode === 200;
      inFlight.delete(b);
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', () => {
      b.lastStatus = 'error';
      b.healthy = false;
      inFlight.delete(b);
    });
    r.end();
  };
  const timer = setInterval(() => backends.forEach(check), opts.healthIntervalMs ?? 500);
  timer.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    backends: () => backends.map((b) => ({ ...b })),
    stats: () => ({ ...counters }),
    async stop() {
      clearInterval(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      proxy.close();
      agent.destroy();
    },
  };
}
