import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { storeTimer } from '../observability/timed.js';
import type { RedisConnection } from '../redis/connection.js';
import { TrackedReader, type TrackedReaderSettings } from '../redis/tracking.js';
import { decodeSession } from './codec.js';
import { NearCacheStore, type NearCacheOptions } from './near-cache.js';
import type { RedisSessionStore } from './redis-store.js';
import type { SessionStore } from './types.js';

/**
 * The near cache over a Redis session store: `store` (the instrumented RedisSessionStore) keeps
 * every write and the fallback read; misses are read on a tracked connection that follows the
 * primary, timed like any other store read (their failures are counted by the fallback read).
 */
export function nearCacheOverRedis(d: {
  readonly store: SessionStore;
  readonly keys: Pick<RedisSessionStore, 'sessionKey' | 'sessionIdOf'>;
  readonly conn: RedisConnection;
  readonly settings: TrackedReaderSettings;
  readonly options: NearCacheOptions;
  readonly metrics: Metrics;
  readonly logger: Logger;
}): NearCacheStore {
  // A failed tracked read is not a failed request: the store's own read path answers it
  // (near-cache.ts, load) and counts its error if it fails too. Counting both would fire
  // SessionStoreErrors for requests that succeeded.
  const timed = storeTimer(d.metrics, d.store.backend, () => true);
  // The cache exists before the reader delivers its first event (the reader is only opened below).
  const events = {
    onInvalidate: (key: string) => {
      const id = d.keys.sessionIdOf(key);
      if (id !== undefined) cache.invalidate(id, 'server');
    },
    onReset: (reason: Parameters<NearCacheStore['flush']>[0]) => cache.flush(reason),
  };
  const reader = new TrackedReader(d.settings, events, d.logger);
  const cache: NearCacheStore = new NearCacheStore(
    d.store,
    {
      get epoch() {
        return reader.epoch;
      },
      get usable() {
        return reader.usable;
      },
      read: (id) =>
        timed('get', async () => {
          const { value, ttlMs } = await reader.getWithTtl(d.keys.sessionKey(id));
          return { record: decodeSession(value), ttlMs };
        }),
      close: () => reader.close(),
    },
    d.options,
    d.metrics,
  );
  reader.retarget(d.conn.primaryTarget());
  d.conn.onPrimaryChange((t) => reader.retarget(t));
  return cache;
}
