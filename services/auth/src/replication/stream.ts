import { decodeSession } from '../sessions/codec.js';
import type { ChangeEvent, Entry } from './local-state.js';

/** A stream entry decoded: the change plus the epoch it belongs to and when its writer sent it. */
export interface StreamEvent extends ChangeEvent {
  readonly epoch: string;
  readonly writtenAt: number;
}

/** `<seq>-0` -> seq. */
export function seqOfId(id: string): number {
  const dash = id.indexOf('-');
  return Number(dash === -1 ? id : id.slice(0, dash));
}

function fieldMap(flat: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (Array.isArray(flat)) {
    for (let i = 0; i + 1 < flat.length; i += 2) m.set(String(flat[i]), String(flat[i + 1]));
  } else if (flat && typeof flat === 'object') {
    for (const [k, v] of Object.entries(flat as Record<string, unknown>)) m.set(k, String(v));
  }
  return m;
}

/** Decodes one `[id, [field, value, ...]]` stream entry; null when it is not ours or is corrupt. */
export function decodeEntry(entry: unknown): StreamEvent | null {
  if (!Array.isArray(entry) || entry.length < 2) return null;
  const seq = seqOfId(String(entry[0]));
  if (!Number.isSafeInteger(seq) || seq <= 0) return null;
  const f = fieldMap(entry[1]);
  const epoch = f.get('e');
  if (epoch === undefined) return null;
  const d = f.get('d');
  const dels = d ? d.split(',') : [];
  const p = f.get('p');
  let put: ChangeEvent['put'];
  if (p) {
    const record = decodeSession(f.get('v'));
    const expiresAt = Number(f.get('x'));
    if (!record || !Number.isFinite(expiresAt)) return null;
    put = { id: p, record, expiresAt };
  }
  return { seq, epoch, writtenAt: Number(f.get('w') ?? 0), put, dels };
}

/** The entries of an XREAD (one stream) or XRANGE reply, in order. */
export function entriesOf(reply: unknown, fromXread: boolean): unknown[] {
  if (reply === null || reply === undefined) return [];
  if (!fromXread) return Array.isArray(reply) ? reply : [];
  // RESP2: [[stream, entries]]; RESP3: { stream: entries }.
  if (Array.isArray(reply)) {
    const first = reply[0] as unknown;
    return Array.isArray(first) && Array.isArray(first[1]) ? (first[1] as unknown[]) : [];
  }
  if (reply instanceof Map) return ([...reply.values()][0] as unknown[] | undefined) ?? [];
  if (typeof reply === 'object') return (Object.values(reply as Record<string, unknown>)[0] as unknown[] | undefined) ?? [];
  return [];
}

/** `<expiresAt>|<seq>|<packed session>` from the snapshot hash. */
export function decodeSnapshotValue(v: string): Omit<Entry, 'seq'> & { seq: number } | null {
  const a = v.indexOf('|');
  const b = a === -1 ? -1 : v.indexOf('|', a + 1);
  if (b === -1) return null;
  const expiresAt = Number(v.slice(0, a));
  const seq = Number(v.slice(a + 1, b));
  const record = decodeSession(v.slice(b + 1));
  if (!record || !Number.isFinite(expiresAt) || !Number.isFinite(seq)) return null;
  return { record, expiresAt, seq };
}
