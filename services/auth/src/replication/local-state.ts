import type { SessionRecord } from '../sessions/types.js';

export interface Entry {
  readonly record: SessionRecord;
  /** Epoch ms after which the session is gone (idle TTL, never past the absolute expiry). */
  readonly expiresAt: number;
  /** Seq of the change that produced this version. */
  readonly seq: number;
}

/** One change, as the stream carries it: optionally put one session, then delete some. */
export interface ChangeEvent {
  readonly seq: number;
  readonly put?: { readonly id: string; readonly record: SessionRecord; readonly expiresAt: number } | undefined;
  readonly dels: readonly string[];
}

/**
 * Every session, in this process. Changes arrive on two paths: the stream reader, strictly in seq
 * order, and this process's own writes, applied as soon as Redis confirms them (read-your-writes)
 * and therefore possibly ahead of the reader. Per-entry seqs and tombstones make applying any event
 * twice, or an older event after a newer one, a no-op: a revoke this replica made can never be
 * undone by the reader delivering the create that preceded it.
 */
export class LocalState {
  readonly sessions = new Map<string, Entry>();
  readonly byUser = new Map<string, Set<string>>();
  /** id -> seq of a delete applied ahead of the reader; dropped once the reader has passed it. */
  private readonly tombstones = new Map<string, number>();

  apply(ev: ChangeEvent, readerSeq: number): void {
    if (ev.put) {
      const { id } = ev.put;
      const t = this.tombstones.get(id);
      const cur = this.sessions.get(id);
      if ((t === undefined || t < ev.seq) && (!cur || cur.seq < ev.seq)) {
        if (cur && cur.record.userId !== ev.put.record.userId) this.unindex(id, cur.record.userId);
        this.sessions.set(id, { record: ev.put.record, expiresAt: ev.put.expiresAt, seq: ev.seq });
        let set = this.byUser.get(ev.put.record.userId);
        if (!set) this.byUser.set(ev.put.record.userId, (set = new Set()));
        set.add(id);
      }
    }
    for (const id of ev.dels) {
      const cur = this.sessions.get(id);
      if (cur && cur.seq > ev.seq) continue;
      if (cur) this.remove(id, cur.record.userId);
      if (ev.seq > readerSeq) this.tombstones.set(id, Math.max(ev.seq, this.tombstones.get(id) ?? 0));
    }
  }

  /** Forget tombstones the reader has passed: from then on, stream order alone is enough. */
  settle(readerSeq: number): void {
    if (this.tombstones.size === 0) return;
    for (const [id, s] of this.tombstones) if (s <= readerSeq) this.tombstones.delete(id);
  }

  /** The live entry, or undefined; an expired entry is dropped on the way (lazy expiry). */
  live(id: string, now: number): Entry | undefined {
    const e = this.sessions.get(id);
    if (!e) return undefined;
    if (e.expiresAt <= now) {
      this.remove(id, e.record.userId);
      return undefined;
    }
    return e;
  }

  remove(id: string, userId: string): void {
    this.sessions.delete(id);
    this.unindex(id, userId);
  }

  private unindex(id: string, userId: string): void {
    const set = this.byUser.get(userId);
    if (set) {
      set.delete(id);
      if (set.size === 0) this.byUser.delete(userId);
    }
  }

  /** Drops expired sessions: one pass over the whole map (tens of ms at 1M sessions, once a minute). */
  sweep(now: number): number {
    let n = 0;
    for (const [id, e] of this.sessions) {
      if (e.expiresAt <= now) {
        this.remove(id, e.record.userId);
        n++;
      }
    }
    return n;
  }
}
