import { describe, expect, it } from 'vitest';
import { ConfigError, CONFIG_VARIABLES, loadConfig } from '../../src/config.js';

const KEY = 'k'.repeat(32);

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('names the replicated key namespace REPLICATED_KEY_PREFIX, and still reads its old name REPLICATED_CHANNEL', () => {
    expect(loadConfig({}).redis.replicationKeyPrefix).toBe('sa:v1:replication');
    expect(loadConfig({ REPLICATED_KEY_PREFIX: 'a:repl' }).redis.replicationKeyPrefix).toBe('a:repl');
    expect(loadConfig({ REPLICATED_CHANNEL: 'old:repl' }).redis.replicationKeyPrefix).toBe('old:repl');
    expect(loadConfig({ REPLICATED_KEY_PREFIX: 'a:repl', REPLICATED_CHANNEL: 'old:repl' }).redis.replicationKeyPrefix).toBe('a:repl');
  });

  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.env).toBe('development');
    expect(c.http).toMatchObject({
      host: '0.0.0.0',
      port: 3000,
      bodyLimitBytes: 8192,
      trustProxy: false,
      proxyHops: 1,
      publicOrigin: undefined,
      shutdownDelayMs: 0,
      shutdownTimeoutMs: 10_000,
    });
    expect(c.logLevel).toBe('info');
    expect(c.store).toBe('memory');
    expect(c.redis).toMatchObject({
      url: 'redis://127.0.0.1:6379',
      sentinels: [],
      masterName: 'mymaster',
      keyPrefix: 'sa:v1:',
      commandTimeoutMs: 500,
      connectTimeoutMs: 1000,
      waitReplicas: 0,
      waitTimeoutMs: 250,
    });
    expect(c.session).toMatchObject({
      idleTimeoutMs: 1800 * 1000,
      absoluteTimeoutMs: 43_200 * 1000,
      touchIntervalMs: 60 * 1000,
      maxPerUser: 10,
      ephemeralKeys: true,
      cookieName: 'sid',
    });
    expect(c.session.keys).toHaveLength(1);
    expect(c.session.keys[0]!.length).toBeGreaterThanOrEqual(32);
    expect(c.throttle).toEqual({
      windowMs: 900_000,
      maxFailuresPerAccount: 20,
      maxFailuresPerAccountIp: 5,
      maxFailuresPerDevice: 10,
      backoffMaxMs: 900_000,
      maxAttemptsPerIp: 100,
      deviceCookieName: 'device',
      deviceCookieMaxAgeMs: 180 * 86_400_000,
    });
    expect(c.session.reauthWindowMs).toBe(300_000);
    expect(c.http).toMatchObject({ requestTimeoutMs: 30_000, headersTimeoutMs: 10_000 });
    // OWASP argon2id: 19 MiB, 2 iterations, 1 lane.
    expect(c.argon2).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1, maxQueue: 64 });
    expect(c.argon2.maxConcurrency).toBeGreaterThanOrEqual(1);
  });

  it('makes a random key per process when SESSION_KEYS is unset', () => {
    expect(loadConfig({}).session.keys[0]).not.toBe(loadConfig({}).session.keys[0]);
  });

  it('reads the variables it is given', () => {
    const c = loadConfig({
      PORT: '8080',
      SESSION_STORE: 'sentinel',
      REDIS_SENTINELS: 'a:26379, b:26380',
      SESSION_KEYS: `${KEY},${'o'.repeat(40)}`,
      PUBLIC_ORIGIN: 'https://auth.example.com/some/path',
      SESSION_IDLE_TIMEOUT_SECONDS: '60',
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: '60',
      SESSION_TOUCH_INTERVAL_SECONDS: '30',
      TRUST_PROXY: 'yes',
    });
    expect(c.http.port).toBe(8080);
    expect(c.redis.sentinels).toEqual([
      { host: 'a', port: 26379 },
      { host: 'b', port: 26380 },
    ]);
    expect(c.redis.waitReplicas).toBe(1); // sentinel mode waits for a replica by default
    expect(c.session.keys).toEqual([KEY, 'o'.repeat(40)]);
    expect(c.session.ephemeralKeys).toBe(false);
    expect(c.http.publicOrigin).toBe('https://auth.example.com');
    expect(c.http.trustProxy).toBe(true);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', SESSION_STORE: '' }).http.port).toBe(3000);
  });

  it('uses __Host-sid in production', () => {
    const c = loadConfig({ NODE_ENV: 'production', SESSION_KEYS: KEY });
    expect(c.session.cookieName).toBe('__Host-sid');
    expect(c.session.cookieSecure).toBe(true);
  });

  it.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['SESSION_STORE', { SESSION_STORE: 'foo' }],
    ['REDIS_SENTINELS', { REDIS_SENTINELS: 'x' }],
    ['REDIS_SENTINELS', { SESSION_STORE: 'sentinel' }],
    ['REDIS_URL', { REDIS_URL: 'not a url' }],
    ['SESSION_KEYS', { SESSION_KEYS: 'short' }],
    ['SESSION_KEYS', { SESSION_KEYS: `${KEY},short` }],
    ['SESSION_KEYS', { NODE_ENV: 'production' }],
    ['SESSION_ABSOLUTE_TIMEOUT_SECONDS', { SESSION_IDLE_TIMEOUT_SECONDS: '600', SESSION_ABSOLUTE_TIMEOUT_SECONDS: '60' }],
    ['SESSION_IDLE_TIMEOUT_SECONDS', { SESSION_IDLE_TIMEOUT_SECONDS: '0' }],
    ['SESSION_TOUCH_INTERVAL_SECONDS', { SESSION_IDLE_TIMEOUT_SECONDS: '60' }],
    ['SESSION_TOUCH_INTERVAL_SECONDS', { SESSION_TOUCH_INTERVAL_SECONDS: '0' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'maybe' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['HTTP_BODY_LIMIT_BYTES', { HTTP_BODY_LIMIT_BYTES: '10' }],
    ['ARGON2_MEMORY_KIB', { ARGON2_MEMORY_KIB: '1.5' }],
    ['NODE_ENV', { NODE_ENV: 'staging' }],
  ])('throws a ConfigError naming %s for %j', (variable, env) => {
    const err = configError(env);
    expect(err.message).toContain(variable);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.issues.some((i) => i.startsWith(variable))).toBe(true);
  });

  it('reports every invalid variable at once', () => {
    const err = configError({ PORT: 'abc', SESSION_STORE: 'foo' });
    expect(err.message).toContain('PORT');
    expect(err.message).toContain('SESSION_STORE');
  });

  it('returns a deeply frozen config', () => {
    const c = loadConfig({ SESSION_KEYS: KEY });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.session)).toBe(true);
    expect(Object.isFrozen(c.session.keys)).toBe(true);
    expect(Object.isFrozen(c.redis.sentinels)).toBe(true);
    expect(() => {
      (c.http as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (c.session.keys as string[]).push('x');
    }).toThrow(TypeError);
    expect(c.http.port).toBe(3000);
  });

  it('lists the variables it reads', () => {
    for (const v of ['PORT', 'SESSION_STORE', 'REDIS_URL', 'SESSION_KEYS', 'ARGON2_MEMORY_KIB', 'SHUTDOWN_DELAY_MS']) {
      expect(CONFIG_VARIABLES).toContain(v);
    }
  });
});
