import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { buildDependencies, type Dependencies } from '../../src/deps.js';
import { createApp } from '../../src/app.js';
import type { Lifecycle } from '../../src/http/ops-routes.js';
import { createHttpServer } from '../../src/http/server.js';

/**
 * Cheap argon2 parameters, hashed in this process: tests exercise the flow, not the cost (the
 * defaults have their own test). The hasher process (the default runner) has its own tests
 * (argon2-runner.test.ts, argon2-bound.test.ts) and runs in every test that starts main.ts.
 */
export const FAST_ARGON2 = { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1', ARGON2_PARALLELISM: '1', ARGON2_RUNNER: 'inline' };

export interface TestApp {
  readonly url: string;
  readonly config: Config;
  readonly deps: Dependencies;
  readonly lifecycle: Lifecycle;
  /** Every log line written so far, raw JSON text. */
  logs(): string;
  close(): Promise<void>;
}

/**
 * Starts the real app (real store, real HTTP server on a free port) in this process, with the
 * environment given; logs are captured so tests can assert what was (not) written.
 */
export async function startApp(env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    SESSION_KEYS: 'test-key-0123456789-0123456789-0123456789',
    ...FAST_ARGON2,
    ...env,
  });
  let captured = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      captured += chunk.toString();
      cb();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const metrics = createMetrics({ defaultMetrics: false });
  const deps = await buildDependencies(config, logger, metrics);
  const lifecycle: Lifecycle = { shuttingDown: false };
  const app = createApp({ ...deps, lifecycle });
  const server: Server = createHttpServer(app, config.http, logger, metrics);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    deps,
    lifecycle,
    logs: () => captured,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await deps.close();
    },
  };
}

/** Waits until the store answers (a Redis client connects asynchronously). */
export async function waitReady(app: TestApp, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${app.url}/readyz`);
    if (r.status === 200) return;
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms: ${await r.text()}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
