import type { Server } from 'node:http';
import { debuglog } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { buildDependencies } from './deps.js';
import { createApp } from './app.js';
import type { Lifecycle } from './http/ops-routes.js';
import { createHttpServer } from './http/server.js';

function readConfig(): Config {
  // koa-session's debug output (NODE_DEBUG=koa-session:context, or a pattern matching it) prints
  // session tokens to stderr, where no redaction applies: a token must never reach a log.
  if (debuglog('koa-session').enabled || debuglog('koa-session:context').enabled) {
    process.stderr.write('NODE_DEBUG enables koa-session debug output, which prints session tokens: refusing to start\n');
    process.exit(78); // EX_CONFIG
  }
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

async function shutdown(server: Server, lifecycle: Lifecycle, config: Config, logger: Logger, close: () => Promise<void>) {
  if (lifecycle.shuttingDown) return;
  lifecycle.shuttingDown = true;
  logger.info({ delayMs: config.http.shutdownDelayMs }, 'shutting down: readiness is now false');
  // Give the load balancer time to see readiness fail before we stop accepting connections.
  await new Promise((r) => setTimeout(r, config.http.shutdownDelayMs));
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => {
    logger.warn('drain timeout: closing remaining connections');
    server.closeAllConnections();
  }, config.http.shutdownTimeoutMs);
  timer.unref();
  await closed;
  await close();
  logger.info('shutdown complete');
}

async function main() {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  if (config.session.ephemeralKeys) {
    logger.warn('SESSION_KEYS not set: using a random key; sessions will not survive a restart or work across replicas');
  }
  // Not a start-up refusal (README, "PUBLIC_ORIGIN"): without it the CSRF check compares Origin
  // with the request's own Host, which a browser cannot forge for another site's request.
  if (config.env === 'production' && !config.http.publicOrigin) {
    logger.warn('PUBLIC_ORIGIN not set: the CSRF origin check compares Origin with the request Host');
  }
  const metrics = createMetrics();
  const deps = await buildDependencies(config, logger, metrics);
  const lifecycle: Lifecycle = { shuttingDown: false };
  const app = createApp({ ...deps, lifecycle });
  deps.hasher.warmUp().catch((err: Error) => logger.warn({ err: { message: err.message } }, 'argon2 warm-up failed'));

  const server = createHttpServer(app, config.http, logger, metrics);
  server.on('error', (err: NodeJS.ErrnoException) => {
    logger.fatal({ err: { message: err.message, code: err.code } }, 'cannot listen');
    process.exit(1);
  });
  server.listen(config.http.port, config.http.host, () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.http.port;
    logger.info({ port, store: config.store, guarantees: deps.store.guarantees.description }, 'listening');
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown(server, lifecycle, config, logger, deps.close)
        .then(() => process.exit(0))
        .catch((err: Error) => {
          logger.error({ err: { message: err.message } }, 'shutdown failed');
          process.exit(1);
        });
    });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`fatal: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
