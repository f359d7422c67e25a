import type { Config } from './config.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { createStandaloneConnection, type RedisConnection } from './redis/connection.js';
import { MemorySessionStore } from './sessions/memory-store.js';
import { RedisSessionStore } from './sessions/redis-store.js';
import { instrumentStore, instrumentThrottle, instrumentUsers } from './instrumented.js';
import type { StoreBackend } from './observability/timed.js';
import { SessionService } from './sessions/service.js';
import { nearCacheOverRedis } from './sessions/near-cache-redis.js';
import type { SessionStore } from './sessions/types.js';
import { MemoryLoginThrottle, RedisLoginThrottle, type LoginThrottle } from './security/throttle.js';
import { MemoryUserRepository, RedisUserRepository, type UserRepository } from './users/repository.js';
import { PasswordHasher } from './users/password.js';
import { ProcessRunner, inlineRunner, type Argon2Runner } from './users/argon2-runner.js';
import type { AppDeps } from './app.js';

export interface Dependencies extends Omit<AppDeps, 'lifecycle'> {
  readonly store: SessionStore;
  close(): Promise<void>;
}

function redisSettings(config: Config) {
  return {
    url: config.redis.url,
    password: config.redis.password,
    commandTimeoutMs: config.redis.commandTimeoutMs,
    connectTimeoutMs: config.redis.connectTimeoutMs,
    waitReplicas: config.redis.waitReplicas,
    waitTimeoutMs: config.redis.waitTimeoutMs,
  };
}

async function connect(config: Config, logger: Logger, metrics: Metrics): Promise<RedisConnection> {
  if (config.store === 'sentinel') {
    const { createSentinelConnection } = await import('./redis/sentinel.js');
    return createSentinelConnection(
      {
        ...redisSettings(config),
        sentinels: config.redis.sentinels,
        masterName: config.redis.masterName,
        sentinelPassword: config.redis.sentinelPassword,
      },
      logger,
      metrics,
    );
  }
  if (config.store === 'cluster') {
    const { createClusterConnection } = await import('./redis/cluster.js');
    return createClusterConnection({ ...redisSettings(config), nodes: config.redis.clusterNodes }, logger.child({ component: 'redis' }), metrics);
  }
  return createStandaloneConnection(redisSettings(config), logger.child({ component: 'redis' }), metrics);
}

/** Builds every collaborator for the configured store mode; the only place that knows the modes. */
export async function buildDependencies(config: Config, logger: Logger, metrics: Metrics): Promise<Dependencies> {
  let store: SessionStore;
  let instrumented: SessionStore | undefined;
  let users: UserRepository;
  let throttle: LoginThrottle;
  /** Where users and the throttle live: in-process, or the Redis connection (never the replicated sessions). */
  let dataBackend: StoreBackend;
  const closers: (() => Promise<void>)[] = [];

  if (config.store === 'memory') {
    store = new MemorySessionStore();
    users = new MemoryUserRepository();
    throttle = new MemoryLoginThrottle(config.throttle);
    dataBackend = 'memory';
    metrics.storeReady.set(1);
  } else {
    const conn = await connect(config, logger, metrics);
    closers.push(() => conn.close());
    // Start serving once Redis answers, or after a bound: a pod whose Redis is down still starts,
    // reports not-ready, and recovers by itself when Redis returns.
    const bound = config.redis.connectTimeoutMs * 3;
    const connected = await Promise.race([
      conn.ready.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), bound).unref()),
    ]);
    if (!connected) logger.warn({ afterMs: bound }, 'starting without a Redis connection; readiness stays false until it connects');
    dataBackend = conn.backend;
    // Cluster: every key of one user (and of one account's throttle scopes) in one slot (docs/cluster.md).
    const slotTagged = config.store === 'cluster';
    users = new RedisUserRepository(conn, config.redis.keyPrefix, slotTagged);
    throttle = new RedisLoginThrottle(conn, config.redis.keyPrefix, config.throttle, Date.now, slotTagged);
    if (config.store === 'replicated') {
      // Users and throttle stay on Redis (the standalone connection from REDIS_URL); sessions live
      // in every replica's memory, fed by the change stream on that same Redis.
      const { createReplicatedStore } = await import('./replication/store.js');
      const replicated = createReplicatedStore(redisSettings(config), {
        writer: conn.exec,
        namespace: config.redis.replicationKeyPrefix,
        streamMaxLen: config.redis.replicationStreamMaxLen,
        maxStalenessMs: config.redis.replicationMaxStalenessMs,
        metrics,
        logger: logger.child({ component: 'replication' }),
      });
      // Same bound as the connection: not ready (ping fails) until the first snapshot is loaded.
      const loaded = await Promise.race([
        replicated.ready.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), bound).unref()),
      ]);
      if (!loaded) logger.warn({ afterMs: bound }, 'starting before the session snapshot is loaded; readiness stays false until it is');
      store = replicated;
    } else {
      const redisStore = new RedisSessionStore(conn, config.redis.keyPrefix, config.redis.waitReplicas);
      store = redisStore;
      if (config.redis.nearCache.enabled) {
        // Outside the instrumentation: a hit is not a store operation; misses are timed as reads.
        instrumented = nearCacheOverRedis({
          store: instrumentStore(redisStore, metrics),
          keys: redisStore,
          conn,
          settings: redisSettings(config),
          options: config.redis.nearCache,
          metrics,
          logger: logger.child({ component: 'near-cache' }),
        });
        store = instrumented;
      }
    }
  }
  instrumented ??= instrumentStore(store, metrics);
  users = instrumentUsers(users, metrics, dataBackend);
  throttle = instrumentThrottle(throttle, metrics, dataBackend);
  closers.unshift(() => store.close());

  const sessions = new SessionService(
    instrumented,
    {
      idleTimeoutMs: config.session.idleTimeoutMs,
      absoluteTimeoutMs: config.session.absoluteTimeoutMs,
      touchIntervalMs: config.session.touchIntervalMs,
      maxPerUser: config.session.maxPerUser,
      reauthWindowMs: config.session.reauthWindowMs,
    },
    config.session.keys,
    metrics,
    logger,
  );
  const runner: Argon2Runner =
    config.argon2.runner === 'inline'
      ? inlineRunner()
      : new ProcessRunner({
          idle: config.argon2.schedIdle,
          nice: config.argon2.nice,
          threads: config.argon2.maxConcurrency,
          onReady: (info) => {
            // The child reports its own policy (read from /proc/self): what the kernel applies, not what was asked.
            metrics.hasherSchedIdle.set(info.policy === 'idle' ? 1 : 0);
            if (info.policy === 'idle' || !config.argon2.schedIdle) logger.debug(info, 'password hasher started');
            else logger.warn(info, 'password hasher started without SCHED_IDLE (no chrt?): a login storm takes more CPU from validation');
          },
          onExit: (info) => {
            metrics.hasherSchedIdle.set(0);
            metrics.hasherExits.inc();
            logger.warn(info, 'password hasher exited; the next hash starts a new one');
          },
        });
  const hasher = new PasswordHasher(
    { memoryCost: config.argon2.memoryCost, timeCost: config.argon2.timeCost, parallelism: config.argon2.parallelism },
    { max: config.argon2.maxConcurrency, maxQueue: config.argon2.maxQueue },
    metrics,
    runner,
  );
  // Last: logins still draining when the store closes have already had their hash.
  closers.push(() => hasher.close());
  return {
    config,
    logger,
    metrics,
    store: instrumented,
    sessions,
    users,
    hasher,
    throttle,
    async close() {
      for (const c of closers) await c().catch(() => {});
    },
  };
}
