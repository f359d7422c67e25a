import { StoreError } from '../errors.js';
import { classifyRedisError } from '../redis/errors.js';
import { withDeadline } from '../redis/deadline.js';
import { runScript, type RedisExec } from '../redis/exec.js';
import type { Script } from '../redis/scripts.js';
import { encodeSession } from '../sessions/codec.js';
import type { CreateSessionOptions, SessionRecord } from '../sessions/types.js';
import { ttlFor } from '../sessions/types.js';
import type { ChangeEvent } from './local-state.js';
import { R_CREATE, R_REVOKE, R_REVOKE_ALL, R_TOUCH, type ReplicationLayout } from './scripts.js';

/** What a write changed: the event to apply locally (none when nothing changed) and the answer. */
export interface Written<T> {
  readonly event: ChangeEvent | undefined;
  readonly result: T;
}

/**
 * The replicated store's writes: each one Lua script on Redis that changes the snapshot and
 * appends the change to the stream in one atomic step, bounded end to end. It returns the change
 * so the caller can apply it at once (read-your-writes) instead of waiting for its own reader.
 */
export class ReplicationWriter {
  constructor(
    private readonly exec: RedisExec,
    private readonly layout: ReplicationLayout,
    private readonly commandTimeoutMs: number,
    private readonly now: () => number,
    private readonly isClosed: () => boolean,
  ) {}

  async create(id: string, record: SessionRecord, opts: CreateSessionOptions): Promise<Written<number>> {
    const now = this.now();
    const expiresAt = now + ttlFor(record, now, opts.idleTimeoutMs);
    const res = await this.run<(number | string)[]>('create', R_CREATE, [this.layout.keys.userPrefix + record.userId], now, [
      id,
      encodeSession(record),
      expiresAt,
      record.createdAt,
      opts.maxPerUser,
      record.absoluteExpiresAt,
    ]);
    return { event: { seq: Number(res[0]), put: { id, record, expiresAt }, dels: res.slice(2).map(String) }, result: Number(res[1]) };
  }

  async touch(id: string, next: SessionRecord, idleTimeoutMs: number): Promise<Written<boolean>> {
    const now = this.now();
    const expiresAt = now + ttlFor(next, now, idleTimeoutMs);
    const res = await this.run<number[]>('touch', R_TOUCH, [], now, [id, encodeSession(next), expiresAt]);
    const seq = Number(res[0]);
    if (seq === 0) return { event: undefined, result: false };
    return { event: { seq, put: { id, record: next, expiresAt }, dels: [] }, result: true };
  }

  async revoke(id: string): Promise<Written<boolean>> {
    const res = await this.run<number[]>('revoke', R_REVOKE, [], this.now(), [id, this.layout.keys.userPrefix]);
    const seq = Number(res[0]);
    return { event: seq > 0 ? { seq, dels: [id] } : undefined, result: Number(res[1]) === 1 };
  }

  async revokeAllForUser(userId: string, exceptId?: string): Promise<Written<number>> {
    const res = await this.run<(number | string)[]>('revoke_all', R_REVOKE_ALL, [this.layout.keys.userPrefix + userId], this.now(), [
      exceptId ?? '',
    ]);
    const seq = Number(res[0]);
    return { event: seq > 0 ? { seq, dels: res.slice(2).map(String) } : undefined, result: Number(res[1]) };
  }

  private async run<T>(op: string, s: Script, extraKeys: string[], now: number, args: (string | number)[]): Promise<T> {
    if (this.isClosed()) throw new StoreError(op, 'unavailable', `${op}: store closed`);
    try {
      return await withDeadline(
        op,
        this.commandTimeoutMs,
        runScript<T>(this.exec, s, [...this.layout.base, ...extraKeys], [...this.layout.prelude(now), ...args]),
      );
    } catch (err) {
      throw classifyRedisError(op, err);
    }
  }
}
