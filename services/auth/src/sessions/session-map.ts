import type { SessionRecord } from './types.js';

/** What every in-process session map holds per session: the record and when it is gone. */
export interface MapEntry {
  readonly record: SessionRecord;
  /** Epoch ms after which the session is gone (idle TTL, never past the absolute expiry). */
  readonly expiresAt: number;
}

/**
 * Sessions by id with a per-user index, expired lazily on access and by a periodic sweep (so an
 * abandoned session does not hold memory forever). The in-process store and every replica of the
 * replicated store keep their sessions in one of these.
 */
export class SessionMap<E extends MapEntry = MapEntry> {
  private readonly sessions = new Map<string, E>();
  private readonly byUser = new Map<string, Set<string>>();

  get size(): number {
    return this.sessions.size;
  }

  /** The entry as stored, expired or not (for version checks). */
  peek(id: string): E | undefined {
    return this.sessions.get(id);
  }

  /** The live entry, or undefined; an expired entry is dropped on the way (lazy expiry). */
  live(id: string, now: number): E | undefined {
    const e = this.sessions.get(id);
    if (!e) return undefined;
    if (e.expiresAt <= now) {
      this.remove(id);
      return undefined;
    }
    return e;
  }

  set(id: string, entry: E): void {
    const cur = this.sessions.get(id);
    if (cur && cur.record.userId !== entry.record.userId) this.unindex(id, cur.record.userId);
    this.sessions.set(id, entry);
    let set = this.byUser.get(entry.record.userId);
    if (!set) this.byUser.set(entry.record.userId, (set = new Set()));
    set.add(id);
  }

  /** True when an entry (live or expired) was there. */
  remove(id: string): boolean {
    const e = this.sessions.get(id);
    if (!e) return false;
    this.sessions.delete(id);
    this.unindex(id, e.record.userId);
    return true;
  }

  /** Ids indexed for the user, expired ones included (a copy: safe to remove while iterating). */
  idsOf(userId: string): string[] {
    const set = this.byUser.get(userId);
    return set ? [...set] : [];
  }

  /** The user's live sessions, oldest first. */
  listLive(userId: string, now: number): { id: string; entry: E }[] {
    const out: { id: string; entry: E }[] = [];
    for (const id of this.idsOf(userId)) {
      const entry = this.live(id, now);
      if (entry) out.push({ id, entry });
    }
    return out.sort((a, b) => a.entry.record.createdAt - b.entry.record.createdAt);
  }

  /** Drops expired sessions: one pass over the whole map (tens of ms at 1M sessions, once a minute). */
  sweep(now: number): number {
    let n = 0;
    for (const [id, e] of this.sessions) {
      if (e.expiresAt <= now) {
        this.remove(id);
        n++;
      }
    }
    return n;
  }

  private unindex(id: string, userId: string): void {
    const set = this.byUser.get(userId);
    if (set) {
      set.delete(id);
      if (set.size === 0) this.byUser.delete(userId);
    }
  }
}

/** Sweeps `map` every `intervalMs` (unref'd: it never keeps the process alive); clearInterval stops it. */
export function startSweeper(map: { sweep(now: number): unknown }, intervalMs: number, now: () => number): NodeJS.Timeout {
  const t = setInterval(() => map.sweep(now()), intervalMs);
  t.unref();
  return t;
}
