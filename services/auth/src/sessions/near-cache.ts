import { BoundedMap } from '../bounded-map.js';
import type { Metrics } from '../observability/metrics.js';
import type { ResetReason } from '../redis/tracking.js';
import type { CreateResult, CreateSessionOptions, SessionRecord, SessionStore } from './types.js';
import { nextTurn } from './next-turn.js';

/** What the near cache needs of the tracked connection (redis/tracking.ts). */
export interface TrackedSource {
  readonly epoch: number;
  readonly usable: boolean;
  /** One session read on the tracked connection (null: no such session) and its key's TTL in ms (< 0: none). */
  read(id: string): Promise<{ record: SessionRecord | null; ttlMs: number }>;
  close(): Promise<void>;
}

export interface NearCacheOptions {
  /**
   * The bound we enforce: an entry older than this is read again whatever the server said. It
   * caps staleness when invalidations are lost without the connection noticing (a half-open
   * socket); normally Redis pushes the invalidation as it applies the write, and the bench sees the
   * revocation refused on the other replica from the first request after it (bench/results.md).
   */
  readonly maxAgeMs: number;
  readonly maxEntries: number;
}

interface Entry {
  readonly record: SessionRecord;
  /**
   * Monotonic ms after which it is read again: maxAgeMs, or the key's TTL if sooner, counted from
   * when the read was sent (so never later than the truth).
   */
  readonly until: number;
}

interface Flight {
  readonly promise: Promise<SessionRecord | null>;
  /** Set when the key changed while the read was in flight: its answer is returned, never cached. */
  poisoned: boolean;
}

/**
 * Hot sessions answered from process memory. Misses are read on a connection with CLIENT TRACKING
 * on, so Redis tells this process when a cached session changes (revoked, touched, expired): the
 * entry is dropped as the push arrives. The cache is flushed whenever those pushes could have
 * been lost (connection gap, reset, failover, FLUSHALL), entries are re-read after maxAgeMs
 * regardless, and this process's own writes drop their entries before they return (read your
 * writes without waiting for the push). Only positive answers are cached: an unknown token costs
 * a store read, as without the cache, and cannot fill the cache.
 */
export class NearCacheStore implements SessionStore {
  readonly backend: SessionStore['backend'];
  readonly guarantees: SessionStore['guarantees'];
  private readonly entries: BoundedMap<string, Entry>;
  private readonly inflight = new Map<string, Flight>();
  private readonly lookups = { hit: 0, miss: 0, bypass: 0 };

  constructor(
    private readonly inner: SessionStore,
    private readonly source: TrackedSource,
    private readonly opts: NearCacheOptions,
    private readonly metrics: Metrics,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.backend = inner.backend;
    this.guarantees = inner.guarantees;
    this.entries = new BoundedMap(opts.maxEntries);
    metrics.setNearCacheSizeSource(() => this.entries.size);
    metrics.setNearCacheLookupSource(() => this.lookups);
  }

  get size(): number {
    return this.entries.size;
  }

  get(id: string): Promise<SessionRecord | null> {
    const e = this.entries.get(id);
    const now = this.now();
    if (e) {
      if (now < e.until) {
        // Answered in the next event-loop turn (next-turn.ts: why). An invalidation, a flush or the
        // bound that came in the meantime is honoured: the entry must still be the one found.
        return nextTurn().then(() => {
          if (this.entries.get(id) === e && this.now() < e.until) {
            this.lookups.hit++;
            return e.record;
          }
          return this.get(id);
        });
      }
      this.entries.delete(id);
    }
    if (!this.source.usable) {
      this.lookups.bypass++;
      return this.inner.get(id);
    }
    this.lookups.miss++;
    return (this.inflight.get(id) ?? this.load(id, now)).promise;
  }

  /** One tracked read per id at a time; concurrent misses of the same session share it. */
  private load(id: string, at: number): Flight {
    const epoch = this.source.epoch;
    const flight: Flight = {
      poisoned: false,
      promise: this.source.read(id).then(
        ({ record, ttlMs }) => {
          if (this.inflight.get(id) === flight) this.inflight.delete(id);
          if (record && !flight.poisoned && epoch === this.source.epoch) {
            this.entries.set(id, { record, until: at + (ttlMs >= 0 ? Math.min(ttlMs, this.opts.maxAgeMs) : this.opts.maxAgeMs) });
          }
          return record;
        },
        () => {
          // The tracked connection failed: the store's own read path (deadline, failover fallback) answers.
          if (this.inflight.get(id) === flight) this.inflight.delete(id);
          return this.inner.get(id);
        },
      ),
    };
    this.inflight.set(id, flight);
    return flight;
  }

  /** The server says session `id` changed; also used for this process's own writes. */
  invalidate(id: string, reason: 'server' | 'local_write'): void {
    const f = this.inflight.get(id);
    if (f) {
      f.poisoned = true;
      this.inflight.delete(id);
    }
    // Every push is counted (they show the tracking is alive); local writes only when they drop one.
    if (this.entries.delete(id) || reason === 'server') this.metrics.nearCacheInvalidations.inc({ reason });
  }

  /** Everything cached may be stale (connection gap, failover, FLUSHALL): drop it all. */
  flush(reason: ResetReason): void {
    for (const f of this.inflight.values()) f.poisoned = true;
    this.inflight.clear();
    this.entries.clear();
    this.metrics.nearCacheFlushes.inc({ reason });
  }

  async create(id: string, record: SessionRecord, opts: CreateSessionOptions): Promise<CreateResult> {
    return this.write(id, () => this.inner.create(id, record, opts));
  }

  async touch(id: string, next: SessionRecord, idleTimeoutMs: number): Promise<boolean> {
    return this.write(id, () => this.inner.touch(id, next, idleTimeoutMs));
  }

  async revoke(id: string): Promise<boolean> {
    return this.write(id, () => this.inner.revoke(id));
  }

  async revokeAllForUser(userId: string, exceptId?: string): Promise<number> {
    try {
      return await this.inner.revokeAllForUser(userId, exceptId);
    } finally {
      // The ids are known only to the script; the pushes follow, but this process must not
      // answer from the cache meanwhile. Rare enough for a scan.
      for (const f of this.inflight.values()) f.poisoned = true;
      this.inflight.clear();
      for (const [id, e] of this.entries) if (e.record.userId === userId && id !== exceptId) this.invalidate(id, 'local_write');
    }
  }

  /** Dropped before (reads in flight are not cached) and after (a read that raced the write). */
  private async write<T>(id: string, fn: () => Promise<T>): Promise<T> {
    this.invalidate(id, 'local_write');
    try {
      return await fn();
    } finally {
      this.invalidate(id, 'local_write');
    }
  }

  listByUser(userId: string) {
    return this.inner.listByUser(userId);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  async close(): Promise<void> {
    await this.source.close();
    await this.inner.close();
  }
}
