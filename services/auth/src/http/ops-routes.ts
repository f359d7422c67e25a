import { Router } from '@koa/router';
import type { Registry } from 'prom-client';
import { AppError } from '../errors.js';
import type { SessionStore } from '../sessions/types.js';
import { openApiDocument } from './openapi.js';

export interface Lifecycle {
  shuttingDown: boolean;
}

/** Liveness, readiness, metrics and the API description: routes an orchestrator and Prometheus use. */
export function opsRoutes(deps: { store: SessionStore; registry: Registry; lifecycle: Lifecycle }): Router {
  const router = new Router();
  const doc = JSON.stringify(openApiDocument());

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    if (deps.lifecycle.shuttingDown) throw new AppError('NOT_READY', { message: 'Shutting down.' });
    try {
      await deps.store.ping();
    } catch {
      throw new AppError('NOT_READY', { message: 'Session store unreachable.', retryAfter: 1 });
    }
    ctx.body = { status: 'ready', store: deps.store.backend, guarantees: deps.store.guarantees };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = deps.registry.contentType;
    ctx.body = await deps.registry.metrics();
  });

  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = doc;
  });

  return router;
}
