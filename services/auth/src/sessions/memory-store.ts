import type { CreateResult, CreateSessionOptions, SessionRecord, SessionStore, StoreGuarantees } from './types.js';
import { ttlFor } from './types.js';

interface Entry {
  record: SessionRecord;
  expiresAt: number;
}

/**
 * The embedded default: one process, no other server. Expiry is lazy on access plus a periodic
 * sweep, so an abandoned session does not hold memory forever.
 */
export class MemorySessionStore implements SessionStore {
  readonly backend = 'memory' as const;
  readonly guarantees: StoreGuarantees = {
    confirmedReplicas: 0,
    survivesProcessRestart: false,
    sharedAcrossReplicas: false,
    description: 'In-process map: sessions vanish on restart and are not shared between replicas.',
  };
  private readonly sessions = new Map<string, Entry>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now, sweepIntervalMs = 60_000) {
    this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs);
    this.sweeper.unref();
  }

  private live(id: string): Entry | undefined {
    const e = this.sessions.get(id);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.remove(id, e.record.userId);
      return undefined;
    }
    return e;
  }

  private remove(id: string, userId: string): void {
    this.sessions.delete(id);
    const set = this.byUser.get(userId);
    if (set) {
      set.delete(id);
      if (set.size === 0) this.byUser.delete(userId);
    }
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, e] of this.sessions) if (e.expiresAt <= now) this.remove(id, e.record.userId);
  }

  async get(id: string): Promise<SessionRecord | null> {
    return this.live(id)?.record ?? null;
  }

  async create(id: string, record: SessionRecord, opts: CreateSessionOptions): Promise<CreateResult> {
    const now = this.now();
    const existing = this.live(id);
    if (existing) {
      if (JSON.stringify(existing.record) !== JSON.stringify(record)) throw new Error('session id collision');
    } else {
      this.sessions.set(id, { record, expiresAt: now + ttlFor(record, now, opts.idleTimeoutMs) });
    }
    let set = this.byUser.get(record.userId);
    if (!set) this.byUser.set(record.userId, (set = new Set()));
    set.add(id);
    // The session being created is never a victim: only the others, oldest first.
    const ordered = [...set]
      .filter((sid) => sid !== id)
      .map((sid) => ({ sid, e: this.live(sid) }))
      .filter((x): x is { sid: string; e: Entry } => x.e !== undefined)
      .sort((a, b) => a.e.record.createdAt - b.e.record.createdAt);
    let evicted = 0;
    while (ordered.length + 1 > opts.maxPerUser) {
      const oldest = ordered.shift()!;
      this.remove(oldest.sid, record.userId);
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
    this.sessions.set(id, { record, expiresAt: this.now() + ttlFor(record, this.now(), idleTimeoutMs) });
    return true;
  }

  async revoke(id: string): Promise<boolean> {
    const e = this.live(id);
    if (!e) return false;
    this.remove(id, e.record.userId);
    return true;
  }

  async listByUser(userId: string): Promise<{ id: string; record: SessionRecord }[]> {
    const set = this.byUser.get(userId);
    if (!set) return [];
    const out: { id: string; record: SessionRecord }[] = [];
    for (const id of [...set]) {
      const e = this.live(id);
      if (e) out.push({ id, record: e.record });
    }
    return out.sort((a, b) => a.record.createdAt - b.record.createdAt);
  }

  async revokeAllForUser(userId: string, exceptId?: string): Promise<number> {
    const set = this.byUser.get(userId);
    if (!set) return 0;
    let n = 0;
    for (const id of [...set]) {
      if (id === exceptId) continue;
      if (this.live(id)) n++;
      this.remove(id, userId);
    }
    return n;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  /** For tests and the bench: how many live sessions the map holds. */
  size(): number {
    return this.sessions.size;
  }

}
