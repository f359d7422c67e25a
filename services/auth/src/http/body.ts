import type { Context, Middleware } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import type { z } from 'zod';
import { AppError } from '../errors.js';
import { isUnsafe } from './csrf.js';


function hasBody(ctx: Context): boolean {
  const len = ctx.get('content-length');
  return (len !== '' && len !== '0') || ctx.get('transfer-encoding') !== '';
}

/**
 * JSON only, size-bounded; anything else with a body is a 415, not silently ignored. Compressed
 * bodies too: the parser would inflate gzip/deflate/br, and a corrupt stream fails inside zlib
 * with an error that carries no status (a 500), for bodies of a few hundred bytes that gain
 * nothing from compression.
 */
export function jsonBody(limitBytes: number, readTimeoutMs: number): Middleware {
  const parse = bodyParser({
    enableTypes: ['json'],
    jsonLimit: limitBytes,
    jsonStrict: true,
    encoding: 'utf-8',
    // DELETE /auth/account carries the password; the parser skips DELETE bodies by default.
    parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'],
  });
  return async (ctx, next) => {
    if (isUnsafe(ctx.method) && hasBody(ctx)) {
      const encoding = ctx.get('content-encoding').trim().toLowerCase();
      if (!ctx.is('application/json') || (encoding !== '' && encoding !== 'identity')) throw new AppError('UNSUPPORTED_MEDIA_TYPE');
    }
    // Nothing to parse: routes read a missing body as {} (parseBody), so the parser is skipped.
    if (!hasBody(ctx)) return next();
    // A body-read deadline of the app's own, next to Node's requestTimeout: a body that trickles
    // in is answered 408 and its connection closed, whatever the server's timer granularity.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ctx.set('Connection', 'close');
        reject(new AppError('REQUEST_TIMEOUT'));
      }, readTimeoutMs);
    });
    try {
      await Promise.race([parse(ctx, async () => {}), deadline]);
    } finally {
      clearTimeout(timer);
    }
    return next();
  };
}

/** Validates a parsed body against a strict schema; unknown fields and wrong types are a 400. */
export function parseBody<S extends z.ZodType>(ctx: Context, schema: S): z.infer<S> {
  const body = (ctx.request as { body?: unknown }).body;
  const result = schema.safeParse(body === undefined ? {} : body);
  if (!result.success) {
    throw new AppError('VALIDATION_FAILED', {
      details: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return result.data;
}
