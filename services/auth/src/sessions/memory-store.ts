import type { CreateResult, CreateSessionOptions, SessionRecord, SessionStore, StoreGuarantees } from './types.js';
import { ttlFor } from './types.js';
import { SessionMap, startSweeper, type MapEntry } from './session-map.js';
import { nextTurn } from './next-turn.js';

/**
 * The embedded default: one process, no other server. Expiry is lazy on access plus a periodic
 * sweep (sessions/session-map.ts), so an abandoned session does not hold memory forever.
 */
export class MemorySessionStore implements SessionStore {
  readonly backend = 'memory' as const;
  readonly guarantees: StoreGuarantees = {
    confirmedReplicas: 0,
    survivesProcessRestart: false,
    sharedAcrossReplicas: false,
    description: 'In-process map: sessions vanish on restart and are not shared between replicas.',
  };
  private readonly map = new SessionMap();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now, sweepIntervalMs = 60_000) {
    this.sweeper = startSweeper(this.map, sweepIntervalMs, now);
  }

  private live(id: string): MapEntry | undefined {
    return this.map.live(id, this.now());
  }

  async get(id: string): Promise<SessionRecord | null> {
    // Answered in the next event-loop turn, read then (next-turn.ts: why).
    await nextTurn();
    return this.live(id)?.record ?? null;
  }

  async create(id: string, record: SessionRecord, opts: CreateSessionOptions): Promise<CreateResult> {
    const now = this.now();
    const existing = this.live(id);
    if (existing) {
      if (JSON.stringify(existing.record) !== JSON.stringify(record)) throw new Error('session id collision');
    } else {
      this.map.set(id, { record, expiresAt: now + ttlFor(record, now, opts.idleTimeoutMs) });
    }
    // The session being created is never a victim: only the others, oldest first.
    const others = this.map.listLive(record.userId, now).filter((x) => x.id !== id);
    let evicted = 0;
    while (others.length + 1 > opts.maxPerUser) {
      this.map.remove(others.shift()!.id);
      evicted++;
    }
    return { evicted };
  }

  async touch(id: string, next: SessionRecord, idleTimeoutMs: number): Promise<boolean> {
    const e = this.live(id);
    if (!e) return false;
    // Only what a touch may change: "last seen", and the password proof of a re-authentication.
    const record = {
      ...e.record,
      lastSeenAt: next.lastSeenAt,
      ...(next.authenticatedAt === undefined ? {} : { authenticatedAt: next.authenticatedAt }),
    };
    this.map.set(id, { record, expiresAt: this.now() + ttlFor(record, this.now(), idleTimeoutMs) });
    return true;
  }

  async revoke(id: string): Promise<boolean> {
    const e = this.live(id);
    if (!e) return false;
    this.map.remove(id);
    return true;
  }

  async listByUser(userId: string): Promise<{ id: string; record: SessionRecord }[]> {
    return this.map.listLive(userId, this.now()).map(({ id, entry }) => ({ id, record: entry.record }));
  }

  async revokeAllForUser(userId: string, exceptId?: string): Promise<number> {
    let n = 0;
    for (const id of this.map.idsOf(userId)) {
      if (id === exceptId) continue;
      if (this.live(id)) n++;
      this.map.remove(id);
    }
    return n;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  /** For tests and the bench: how many live sessions the map holds. */
  size(): number {
    return this.map.size;
  }
}
