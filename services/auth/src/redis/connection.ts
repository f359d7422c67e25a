import { createClient, createClientPool } from 'redis';
import { oncePer, type Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { StoreError } from '../errors.js';
import { classifyRedisError } from './errors.js';
import type { RedisExec } from './exec.js';
import { withDeadline } from './deadline.js';

export interface RedisSettings {
  readonly url: string;
  readonly password: string | undefined;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly waitReplicas: number;
  readonly waitTimeoutMs: number;
}

/** Where the primary is: a URL (standalone) or the address Sentinel named. */
export type PrimaryTarget = { readonly url: string } | { readonly host: string; readonly port: number };

/**
 * A connection to "the Redis primary", whatever the topology. `exec` is the shared, pipelined
 * connection for reads and non-durable writes; `durable` runs a write on an exclusive connection
 * and then WAITs on that same connection, because WAIT only covers writes made by its own client.
 */
export interface RedisConnection {
  readonly backend: 'redis' | 'sentinel' | 'cluster';
  readonly exec: RedisExec;
  /**
   * A key read from the replicas, for when no primary can answer (sentinel only): null unless
   * every healthy replica has the key, so a revocation any replica has seen is respected.
   */
  readonly replicaGet: ((key: string) => Promise<string | null>) | undefined;
  /** Resolves on the first successful connection; never rejects (the client keeps retrying). */
  readonly ready: Promise<void>;
  durable<T>(op: string, fn: (exec: RedisExec) => Promise<T>): Promise<T>;
  /** The primary as last known (undefined before Sentinel first named one). */
  primaryTarget(): PrimaryTarget | undefined;
  /** Called after every change of primary (never for standalone), for clients of their own (the near cache). */
  onPrimaryChange(listener: (target: PrimaryTarget) => void): void;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Exponential backoff with jitter, capped: a dead primary is retried often enough to notice its return fast. */
export function reconnectDelay(retries: number): number {
  const base = Math.min(1000, 50 * 2 ** Math.min(retries, 5));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * WAIT on the connection that made the write. It waits for `want` replicas (every healthy one,
 * when known) and succeeds once at least `replicas` confirmed: Sentinel promotes from offsets it
 * refreshes about once a second, so with one confirmation out of two it can now and then promote
 * the replica that lacks the write; with every healthy replica confirming, whichever it picks has
 * it. A slow replica then costs latency (up to the timeout), not availability.
 */
export async function waitForReplicas(
  exec: RedisExec,
  op: string,
  replicas: number,
  timeoutMs: number,
  want = replicas,
): Promise<void> {
  if (replicas <= 0) return;
  const acked = await exec.send<number>(['WAIT', String(Math.max(replicas, want)), String(timeoutMs)]);
  if (acked < replicas) {
    throw new StoreError(op, 'no_replica_ack', `${op}: ${acked} of ${replicas} replicas confirmed within ${timeoutMs} ms`);
  }
}

/** Options for every data-node client: bounded connect, bounded commands, no offline queue. */
export function nodeClientOptions(
  s: { readonly password?: string | undefined; readonly connectTimeoutMs: number },
  target: PrimaryTarget,
) {
  return {
    ...('url' in target ? { url: target.url } : {}),
    ...(s.password ? { password: s.password } : {}),
    socket: {
      ...('url' in target ? {} : { host: target.host, port: target.port }),
      connectTimeout: s.connectTimeoutMs,
      reconnectStrategy: reconnectDelay,
    },
    // Fail fast while disconnected instead of queueing without bound; the HTTP layer answers 503.
    disableOfflineQueue: true,
    // While connected but unanswered (a hung server), commands abandoned at their deadline stay
    // queued until the connection is reset; this bounds them ("queue is full" is `unavailable`).
    commandsQueueMaxLength: 10_000,
    // Every call already has an end-to-end deadline (deadline.ts). node-redis 6 otherwise gives
    // each command a 5 s AbortSignal.timeout whose timer fires (and builds a DOMException) long
    // after the reply: ~7% of a validated request's CPU in the profile. 0 turns it off.
    commandOptions: { timeout: 0 },
  };
}

/** What a durable write needs of a node-redis pool (kept structural: the pool's generics vary). */
interface PoolLike {
  execute<R>(fn: (client: { sendCommand(args: string[]): Promise<unknown> }) => Promise<R>): Promise<R>;
}

/**
 * A durable write: `fn` on one pooled connection, then WAIT on that same connection (WAIT only
 * covers writes made by its own client), all inside one end-to-end bound.
 */
export function durableOnPool<T>(
  pool: PoolLike,
  s: Pick<RedisSettings, 'commandTimeoutMs' | 'waitReplicas' | 'waitTimeoutMs'>,
  op: string,
  fn: (exec: RedisExec) => Promise<T>,
  healthyReplicas = 0,
): Promise<T> {
  return withDeadline(
    op,
    s.commandTimeoutMs + s.waitTimeoutMs,
    pool.execute(async (c) => {
      const leased: RedisExec = { send: (args) => c.sendCommand(args) as Promise<never> };
      const result = await fn(leased);
      await waitForReplicas(leased, op, s.waitReplicas, s.waitTimeoutMs, healthyReplicas);
      return result;
    }),
  );
}

interface Resettable {
  destroy(): void;
  connect(): Promise<unknown>;
}

/**
 * Sends through `client` within the deadline, and resets the connection after `after` deadlines
 * missed in a row: node-redis notices a dead peer only when TCP gives up (minutes on a half-open
 * connection), and until then every command waits out its deadline and stays queued. destroy()
 * fails what is queued; reconnecting starts clean. Only commands sent since the last reset count,
 * so one burst of timeouts resets once.
 */
export function deadlineExec(
  client: Resettable & { sendCommand(args: string[]): Promise<unknown> },
  opts: {
    /** The bound of one call; a function where it depends on the command (a blocking XREAD). */
    timeoutMs: number | ((args: string[]) => number);
    onReset: () => void;
    /** Missed deadlines in a row that reset the connection. */
    after?: number;
    /** False once the owner has closed the connection: no reconnect then. */
    canReset?: () => boolean;
  },
): RedisExec {
  const after = opts.after ?? 3;
  const bound = typeof opts.timeoutMs === 'number' ? () => opts.timeoutMs as number : opts.timeoutMs;
  let generation = 0;
  let missed = 0;
  return {
    send: (args) => {
      const gen = generation;
      return withDeadline(args[0] ?? 'command', bound(args), client.sendCommand(args)).then(
        (reply) => {
          if (gen === generation) missed = 0;
          return reply as never;
        },
        (err: unknown) => {
          if (err instanceof StoreError && err.kind === 'timeout' && gen === generation && ++missed >= after && (opts.canReset?.() ?? true)) {
            generation++;
            missed = 0;
            opts.onReset();
            try {
              client.destroy();
            } catch {
              // already closed
            }
            client.connect().catch(() => {});
          }
          throw err;
        },
      );
    },
  };
}

/** PING through `exec`, keeping the session_store_ready gauge in step with the answer. */
export async function pingAndReport(exec: RedisExec, metrics: Metrics): Promise<void> {
  try {
    await exec.send(['PING']);
    metrics.storeReady.set(1);
  } catch (err) {
    metrics.storeReady.set(0);
    throw classifyRedisError('ping', err);
  }
}

export function createStandaloneConnection(s: RedisSettings, logger: Logger, metrics: Metrics): RedisConnection {
  const options = nodeClientOptions(s, { url: s.url });
  const client = createClient(options);
  const logGate = oncePer(1000);
  client.on('error', (err: Error) => {
    metrics.storeReady.set(0);
    if (logGate()) logger.warn({ err: { message: err.message, name: err.name } }, 'redis connection error');
  });
  client.on('ready', () => {
    metrics.storeReady.set(1);
    logger.info('redis connection ready');
  });
  client.on('end', () => metrics.storeReady.set(0));
  const ready = new Promise<void>((resolve) => client.once('ready', () => resolve()));
  client.connect().catch((err: Error) => logger.error({ err: { message: err.message } }, 'redis connect failed'));

  // A hung server (SIGSTOP, a stuck disk) or a half-open connection never answers: every call
  // gets an end-to-end deadline, and the connection is reset when calls keep missing it.
  const exec = deadlineExec(client, {
    timeoutMs: s.commandTimeoutMs,
    onReset: () => logger.warn('redis: commands keep missing their deadline, reconnecting'),
  });

  const pool =
    s.waitReplicas > 0
      ? createClientPool(options, { minimum: 1, maximum: 4, acquireTimeout: s.commandTimeoutMs })
      : undefined;
  pool?.on('error', () => {});
  const poolReady = pool?.connect().catch((err: Error) => logger.error({ err: { message: err.message } }, 'redis pool connect failed'));

  return {
    backend: 'redis',
    exec,
    replicaGet: undefined,
    ready,
    async durable(op, fn) {
      if (!pool) return fn(exec);
      // Waiting for the pool's first connection is part of the bound too (Redis down at start).
      await withDeadline(op, s.commandTimeoutMs, poolReady ?? Promise.resolve());
      return durableOnPool(pool as unknown as PoolLike, s, op, fn);
    },
    primaryTarget: () => ({ url: s.url }),
    onPrimaryChange: () => {},
    ping: () => pingAndReport(exec, metrics),
    async close() {
      // A graceful close waits for pending replies, which a hung Redis never sends: bounded, then destroy.
      const graceful = Promise.allSettled([client.isOpen ? client.close() : undefined, pool?.close()]);
      await withDeadline('close', s.commandTimeoutMs, graceful).catch(() => {
        client.destroy();
        pool?.destroy();
      });
    },
  };
}

/** A connection of its own (not the shared, pipelined one), for a blocking reader or a writer. */
export interface DedicatedConnection {
  readonly exec: RedisExec;
  close(): void;
}

/**
 * One node-redis client with the data-node options, bounded end to end (deadlineExec). `name`
 * becomes the CLIENT SETNAME, so CLIENT LIST shows what each connection is for. `timeoutMs` may
 * depend on the command (a blocking XREAD waits its block time on top of the command bound).
 * `resetAfter` missed deadlines in a row reset the connection: 1 where nothing may queue behind a
 * lost reply. close() destroys it: nothing is in flight that a graceful close would save.
 */
export function createDedicatedConnection(
  s: { readonly url: string; readonly password?: string | undefined; readonly commandTimeoutMs: number; readonly connectTimeoutMs: number },
  o: {
    readonly name: string;
    readonly timeoutMs?: (args: string[]) => number;
    readonly resetAfter?: number;
    readonly onError: (err: Error) => void;
    readonly onReset: () => void;
  },
): DedicatedConnection {
  const client = createClient({ ...nodeClientOptions(s, { url: s.url }), name: o.name });
  let closed = false;
  client.on('error', o.onError);
  client.connect().catch(() => {});
  const exec = deadlineExec(client, {
    timeoutMs: o.timeoutMs ?? s.commandTimeoutMs,
    after: o.resetAfter ?? 3,
    canReset: () => !closed,
    onReset: o.onReset,
  });
  return {
    exec,
    close() {
      closed = true;
      try {
        client.destroy();
      } catch {
        // Already closed.
      }
    },
  };
}
