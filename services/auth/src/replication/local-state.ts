import type { SessionRecord } from '../sessions/types.js';
import { SessionMap, type MapEntry } from '../sessions/session-map.js';

export interface Entry extends MapEntry {
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
  readonly map = new SessionMap<Entry>();
  /** id -> seq of a delete applied ahead of the reader; dropped once the reader has passed it. */
  private readonly tombstones = new Map<string, number>();

  apply(ev: ChangeEvent, readerSeq: number): void {
    if (ev.put) {
      const { id } = ev.put;
      const t = this.tombstones.get(id);
      const cur = this.map.peek(id);
      if ((t === undefined || t < ev.seq) && (!cur || cur.seq < ev.seq)) {
        this.map.set(id, { record: ev.put.record, expiresAt: ev.put.expiresAt, seq: ev.seq });
      }
    }
    for (const id of ev.dels) {
      const cur = this.map.peek(id);
      if (cur && cur.seq > ev.seq) continue;
      this.map.remove(id);
      if (ev.seq > readerSeq) this.tombstones.set(id, Math.max(ev.seq, this.tombstones.get(id) ?? 0));
    }
  }

  /** Forget tombstones the reader has passed: from then on, stream order alone is enough. */
  settle(readerSeq: number): void {
    if (this.tombstones.size === 0) return;
    for (const [id, s] of this.tombstones) if (s <= readerSeq) this.tombstones.delete(id);
  }
}
