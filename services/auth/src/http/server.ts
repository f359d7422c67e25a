import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type Koa from 'koa';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

export interface ServerSettings {
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
}

/** What Node's parser or timers report, as the error code of the documented shape. */
function codeFor(err: NodeJS.ErrnoException): ErrorCode | undefined {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'HEADERS_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'REQUEST_TIMEOUT';
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    default:
      return err.code?.startsWith('HPE_') ? 'BAD_REQUEST' : undefined;
  }
}

/**
 * The HTTP server for the app, used by main.ts and the tests alike so both run the same limits.
 *
 * - requestTimeout bounds a whole request, body included; Node only looks every
 *   connectionsCheckingInterval (30 s by default), which let a trickling body hold a socket for
 *   ~81 s against a 30 s timeout. Checking every second cuts it within a second of the bound.
 * - Errors Node answers itself (bad framing, headers too large, the request timeout) get the same
 *   `{"error":{code,message}}` body as every other error, where a response can still be sent: not
 *   once the app has begun its own response on that socket.
 */
export function createHttpServer(app: Koa, s: ServerSettings, logger: Logger, metrics: Metrics): Server {
  const server = createServer(
    { requestTimeout: s.requestTimeoutMs, headersTimeout: s.headersTimeoutMs, connectionsCheckingInterval: 1000 },
    app.callback(),
  );
  // Longer than typical ingress idle timeouts, so the proxy closes idle connections, not us.
  server.keepAliveTimeout = 65_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const code = codeFor(err);
    metrics.clientErrors.inc({ code: code ?? 'CONNECTION_RESET' });
    // The parser's message and the raw bytes it saw are never logged: they can hold a cookie.
    logger.debug({ code: code ?? err.code }, 'client error answered by the HTTP server');
    const response = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!code || !socket.writable || response?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, message } = ERRORS[code];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${reason(status)}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Cache-Control: no-store\r\n' +
        'X-Content-Type-Options: nosniff\r\n' +
        'Connection: close\r\n\r\n' +
        body,
    );
    // end() flushes, then closes; a client that never reads must not keep the socket either.
    setTimeout(() => socket.destroy(), 1000).unref();
  });
  return server;
}

function reason(status: number): string {
  return ({ 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' } as Record<number, string>)[status] ?? 'Error';
}
