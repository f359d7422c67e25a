import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

const hostPort = z
  .string()
  .regex(/^[^:\s]+:\d{1,5}$/, 'expected host:port')
  .transform((s) => {
    const i = s.lastIndexOf(':');
    return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  });

const hostPortList = z
  .string()
  .optional()
  .transform((s, ctx) => {
    if (!s) return [];
    const out = [];
    for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
      const parsed = hostPort.safeParse(part);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: `"${part}" is not host:port` });
        return z.NEVER;
      }
      out.push(parsed.data);
    }
    return out;
  });

const EnvShape = {
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: int(0, 65535).default(3000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    SESSION_STORE: z.enum(['memory', 'redis', 'sentinel', 'cluster', 'replicated']).default('memory'),
    REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
    REDIS_SENTINELS: hostPortList,
    /** Seed nodes of a Redis Cluster (SESSION_STORE=cluster); the client discovers the rest. */
    REDIS_CLUSTER_NODES: hostPortList,
    REDIS_MASTER_NAME: z.string().min(1).default('mymaster'),
    REDIS_PASSWORD: z.string().optional(),
    REDIS_SENTINEL_PASSWORD: z.string().optional(),
    REDIS_KEY_PREFIX: z.string().regex(/^[a-z0-9:_-]*$/i).default('sa:v1:'),
    REDIS_COMMAND_TIMEOUT_MS: int(10, 60_000).default(500),
    REDIS_CONNECT_TIMEOUT_MS: int(10, 60_000).default(1000),
    REDIS_WAIT_REPLICAS: int(0, 16).optional(),
    REDIS_WAIT_TIMEOUT_MS: int(1, 10_000).default(250),
    SESSION_NEAR_CACHE: bool.default(false),
    SESSION_NEAR_CACHE_MAX_AGE_MS: int(1, 60_000).default(1000),

    SESSION_IDLE_TIMEOUT_SECONDS: int(1).default(1800),
    SESSION_ABSOLUTE_TIMEOUT_SECONDS: int(1).default(43_200),
    SESSION_TOUCH_INTERVAL_SECONDS: int(1).default(60),
    SESSION_MAX_PER_USER: int(1, 1000).default(10),
    SESSION_KEYS: z
      .string()
      .optional()
      .transform((s) => (s ? s.split(',').map((k) => k.trim()).filter(Boolean) : [])),
    COOKIE_SECURE: z.union([bool, z.literal('auto')]).optional(),
    PUBLIC_ORIGIN: z.string().url().optional(),
    TRUST_PROXY: bool.default(false),
    TRUST_PROXY_HOPS: int(1, 10).default(1),

    LOGIN_THROTTLE_WINDOW_SECONDS: int(1).default(900),
    LOGIN_MAX_FAILURES_PER_ACCOUNT: int(1).default(20),
    LOGIN_MAX_FAILURES_PER_ACCOUNT_IP: int(1).default(5),
    LOGIN_MAX_FAILURES_PER_DEVICE: int(1).default(10),
    LOGIN_BACKOFF_MAX_SECONDS: int(1, 86_400).default(900),
    LOGIN_MAX_ATTEMPTS_PER_IP: int(1).default(100),
    REAUTH_WINDOW_SECONDS: int(0, 86_400).default(300),

    ARGON2_MEMORY_KIB: int(1024).default(19_456),
    ARGON2_TIME_COST: int(1).default(2),
    ARGON2_PARALLELISM: int(1, 16).default(1),
    ARGON2_MAX_CONCURRENCY: int(1, 64).default(Math.max(1, availableParallelism() - 1)),
    ARGON2_MAX_QUEUE: int(0).default(64),
    ARGON2_RUNNER: z.enum(['process', 'inline']).default('process'),
    ARGON2_SCHED_IDLE: bool.default(true),
    ARGON2_NICE: int(0, 19).default(19),

    HTTP_BODY_LIMIT_BYTES: int(256, 1_048_576).default(8192),
    HTTP_REQUEST_TIMEOUT_MS: int(1000, 600_000).default(30_000),
    HTTP_HEADERS_TIMEOUT_MS: int(1000, 600_000).default(10_000),
    SHUTDOWN_DELAY_MS: int(0, 120_000).default(0),
    SHUTDOWN_TIMEOUT_MS: int(0, 300_000).default(10_000),

    REPLICATED_KEY_PREFIX: z.string().min(1).optional(),
    // The old name of REPLICATED_KEY_PREFIX (it names a key namespace, not a channel), still read:
    // a deployment that set it must keep its namespace, or its replicas would start a new history.
    REPLICATED_CHANNEL: z.string().min(1).optional(),
    REPLICATED_STREAM_MAXLEN: int(1000).default(100_000),
    REPLICATED_MAX_STALENESS_SECONDS: int(0).default(0),
};

const EnvSchema = z.object(EnvShape).superRefine((env, ctx) => {
    if (env.SESSION_STORE === 'sentinel' && env.REDIS_SENTINELS.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINELS'], message: 'required when SESSION_STORE=sentinel' });
    }
    // The near cache is invalidated by Redis itself (CLIENT TRACKING): only the Redis modes have that.
    if (env.SESSION_NEAR_CACHE && env.SESSION_STORE !== 'redis' && env.SESSION_STORE !== 'sentinel') {
      ctx.addIssue({ code: 'custom', path: ['SESSION_NEAR_CACHE'], message: 'only with SESSION_STORE=redis or sentinel' });
    }
    if (env.SESSION_STORE === 'cluster' && env.REDIS_CLUSTER_NODES.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_CLUSTER_NODES'], message: 'required when SESSION_STORE=cluster' });
    }
    if (env.NODE_ENV === 'production' && env.SESSION_KEYS.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['SESSION_KEYS'], message: 'required when NODE_ENV=production' });
    }
    for (const k of env.SESSION_KEYS) {
      if (k.length < 32) {
        ctx.addIssue({ code: 'custom', path: ['SESSION_KEYS'], message: 'every key must be at least 32 characters' });
        break;
      }
    }
    // A session is renewed only once its touch interval has passed; if that is not well inside
    // the idle timeout, an active user is logged out mid-use.
    if (env.SESSION_TOUCH_INTERVAL_SECONDS * 2 > env.SESSION_IDLE_TIMEOUT_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['SESSION_TOUCH_INTERVAL_SECONDS'],
        message: 'must be at most half of SESSION_IDLE_TIMEOUT_SECONDS',
      });
    }
    // Node refuses (and could not enforce) a header deadline later than the whole request's.
    if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({ code: 'custom', path: ['HTTP_HEADERS_TIMEOUT_MS'], message: 'must be at most HTTP_REQUEST_TIMEOUT_MS' });
    }
    if (env.SESSION_ABSOLUTE_TIMEOUT_SECONDS < env.SESSION_IDLE_TIMEOUT_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['SESSION_ABSOLUTE_TIMEOUT_SECONDS'],
        message: 'must be at least SESSION_IDLE_TIMEOUT_SECONDS',
      });
    }
  });

export type StoreMode = 'memory' | 'redis' | 'sentinel' | 'cluster' | 'replicated';

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly bodyLimitBytes: number;
    /** Node's server.requestTimeout, and the deadline for reading a request body. */
    readonly requestTimeoutMs: number;
    readonly headersTimeoutMs: number;
    readonly trustProxy: boolean;
    readonly proxyHops: number;
    readonly publicOrigin: string | undefined;
    readonly shutdownDelayMs: number;
    readonly shutdownTimeoutMs: number;
  };
  readonly logLevel: string;
  readonly store: StoreMode;
  readonly redis: {
    readonly url: string;
    readonly sentinels: readonly { host: string; port: number }[];
    readonly clusterNodes: readonly { host: string; port: number }[];
    readonly masterName: string;
    readonly password: string | undefined;
    readonly sentinelPassword: string | undefined;
    readonly keyPrefix: string;
    readonly commandTimeoutMs: number;
    readonly connectTimeoutMs: number;
    readonly waitReplicas: number;
    readonly waitTimeoutMs: number;
    readonly replicationKeyPrefix: string;
    /** Approximate length the replication stream is trimmed to (XADD MAXLEN ~). */
    readonly replicationStreamMaxLen: number;
    /** 0: a replicated store serves from memory however stale; >0: it turns unready beyond this. */
    readonly replicationMaxStalenessMs: number;
    /** Hot sessions from process memory, invalidated by Redis (sessions/near-cache.ts). Off by default. */
    readonly nearCache: {
      readonly enabled: boolean;
      /** Entries older than this are read again, whatever the invalidations said: the staleness bound. */
      readonly maxAgeMs: number;
      readonly maxEntries: number;
    };
  };
  readonly session: {
    readonly idleTimeoutMs: number;
    readonly absoluteTimeoutMs: number;
    readonly touchIntervalMs: number;
    readonly maxPerUser: number;
    readonly keys: readonly string[];
    /** True when SESSION_KEYS was not set and a random one was made for this process. */
    readonly ephemeralKeys: boolean;
    /** true: always Secure; 'auto': Secure when the request is HTTPS (needs TRUST_PROXY behind a proxy). */
    readonly cookieSecure: boolean | 'auto';
    readonly cookieName: string;
    /** How long ago a session's password proof may be for a sensitive action (0: always ask). */
    readonly reauthWindowMs: number;
  };
  readonly throttle: {
    /** A scope's count is forgotten after this long without an attempt (or a pending delay). */
    readonly windowMs: number;
    /** Ceiling shared by every client without a device cookie for the account. */
    readonly maxFailuresPerAccount: number;
    readonly maxFailuresPerAccountIp: number;
    readonly maxFailuresPerDevice: number;
    /** Delays double from 1 s per attempt beyond a budget, up to this. */
    readonly backoffMaxMs: number;
    readonly maxAttemptsPerIp: number;
    readonly deviceCookieName: string;
    readonly deviceCookieMaxAgeMs: number;
  };
  readonly argon2: {
    readonly memoryCost: number;
    readonly timeCost: number;
    readonly parallelism: number;
    readonly maxConcurrency: number;
    readonly maxQueue: number;
    /** process: a child at a lower CPU priority (users/argon2-runner.ts); inline: this process's pool. */
    readonly runner: 'process' | 'inline';
    /** The hasher's threads under SCHED_IDLE (process runner); else, or if refused, at `nice`. */
    readonly schedIdle: boolean;
    readonly nice: number;
  };
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Reads and validates the environment once; the only place that touches process.env. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const relevant: Record<string, string> = {};
  for (const key of Object.keys(EnvShape)) {
    const v = source[key];
    if (v !== undefined && v !== '') relevant[key] = v;
  }
  const parsed = EnvSchema.safeParse(relevant);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`),
    );
  }
  const e = parsed.data;
  const ephemeralKeys = e.SESSION_KEYS.length === 0;
  const keys = ephemeralKeys ? [randomBytes(32).toString('base64url')] : e.SESSION_KEYS;
  const cookieSecure: boolean | 'auto' = e.COOKIE_SECURE ?? (e.NODE_ENV === 'production' ? true : 'auto');
  return deepFreeze<Config>({
    env: e.NODE_ENV,
    http: {
      host: e.HOST,
      port: e.PORT,
      bodyLimitBytes: e.HTTP_BODY_LIMIT_BYTES,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      trustProxy: e.TRUST_PROXY,
      proxyHops: e.TRUST_PROXY_HOPS,
      publicOrigin: e.PUBLIC_ORIGIN ? new URL(e.PUBLIC_ORIGIN).origin : undefined,
      shutdownDelayMs: e.SHUTDOWN_DELAY_MS,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    },
    logLevel: e.LOG_LEVEL,
    store: e.SESSION_STORE,
    redis: {
      url: e.REDIS_URL,
      sentinels: e.REDIS_SENTINELS,
      clusterNodes: e.REDIS_CLUSTER_NODES,
      masterName: e.REDIS_MASTER_NAME,
      password: e.REDIS_PASSWORD,
      sentinelPassword: e.REDIS_SENTINEL_PASSWORD,
      keyPrefix: e.REDIS_KEY_PREFIX,
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      connectTimeoutMs: e.REDIS_CONNECT_TIMEOUT_MS,
      waitReplicas: e.REDIS_WAIT_REPLICAS ?? (e.SESSION_STORE === 'sentinel' || e.SESSION_STORE === 'cluster' ? 1 : 0),
      waitTimeoutMs: e.REDIS_WAIT_TIMEOUT_MS,
      replicationKeyPrefix: e.REPLICATED_KEY_PREFIX ?? e.REPLICATED_CHANNEL ?? 'sa:v1:replication',
      replicationStreamMaxLen: e.REPLICATED_STREAM_MAXLEN,
      replicationMaxStalenessMs: e.REPLICATED_MAX_STALENESS_SECONDS * 1000,
      // ~400 B per entry: 100k hot sessions stay under 50 MB of heap.
      nearCache: { enabled: e.SESSION_NEAR_CACHE, maxAgeMs: e.SESSION_NEAR_CACHE_MAX_AGE_MS, maxEntries: 100_000 },
    },
    session: {
      idleTimeoutMs: e.SESSION_IDLE_TIMEOUT_SECONDS * 1000,
      absoluteTimeoutMs: e.SESSION_ABSOLUTE_TIMEOUT_SECONDS * 1000,
      touchIntervalMs: e.SESSION_TOUCH_INTERVAL_SECONDS * 1000,
      maxPerUser: e.SESSION_MAX_PER_USER,
      keys,
      ephemeralKeys,
      cookieSecure,
      // __Host- binds the cookie to this exact host over HTTPS: no Domain, Path=/, Secure. It needs
      // Secure on every response, so 'auto' (HTTP or HTTPS per request) keeps the plain name.
      cookieName: cookieSecure === true ? '__Host-sid' : 'sid',
      reauthWindowMs: e.REAUTH_WINDOW_SECONDS * 1000,
    },
    throttle: {
      windowMs: e.LOGIN_THROTTLE_WINDOW_SECONDS * 1000,
      maxFailuresPerAccount: e.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerAccountIp: e.LOGIN_MAX_FAILURES_PER_ACCOUNT_IP,
      maxFailuresPerDevice: e.LOGIN_MAX_FAILURES_PER_DEVICE,
      backoffMaxMs: e.LOGIN_BACKOFF_MAX_SECONDS * 1000,
      maxAttemptsPerIp: e.LOGIN_MAX_ATTEMPTS_PER_IP,
      // Same prefix rule as the session cookie: __Host- only when every response is Secure.
      deviceCookieName: cookieSecure === true ? '__Host-device' : 'device',
      // OWASP leaves the lifetime open; half a year keeps a browser used monthly known.
      deviceCookieMaxAgeMs: 180 * 86_400_000,
    },
    argon2: {
      memoryCost: e.ARGON2_MEMORY_KIB,
      timeCost: e.ARGON2_TIME_COST,
      parallelism: e.ARGON2_PARALLELISM,
      maxConcurrency: e.ARGON2_MAX_CONCURRENCY,
      maxQueue: e.ARGON2_MAX_QUEUE,
      runner: e.ARGON2_RUNNER,
      schedIdle: e.ARGON2_SCHED_IDLE,
      nice: e.ARGON2_NICE,
    },
  });
}

/** Every variable the service reads, for the README test that keeps the docs complete. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(EnvShape);
