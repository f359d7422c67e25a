import type { RedisConnection } from '../redis/connection.js';
import { runScript } from '../redis/exec.js';
import { CREATE_SESSION, LIST_SESSIONS, REVOKE_ALL, REVOKE_SESSION } from './redis-scripts.js';
import { classifyRedisError } from '../redis/errors.js';
import { decodeSession, encodeSession } from './codec.js';
import type { CreateResult, CreateSessionOptions, SessionRecord, SessionStore, StoreGuarantees } from './types.js';
import { ttlFor } from './types.js';

/** Keys: `<prefix>s:<id>` holds the session, `<prefix>u:<userId>:s` indexes a user's session ids. */
export class RedisSessionStore implements SessionStore {
  readonly backend: 'redis' | 'sentinel' | 'cluster';
  readonly guarantees: StoreGuarantees;
  private readonly sessionPrefix: string;
  private readonly userPrefix: string;
  private readonly userSuffix = ':s';

  constructor(
    private readonly conn: RedisConnection,
    keyPrefix: string,
    waitReplicas: number,
    private readonly now: () => number = Date.now,
  ) {
    this.backend = conn.backend;
    this.sessionPrefix = `${keyPrefix}s:`;
    this.userPrefix = `${keyPrefix}u:`;
    this.guarantees = {
      confirmedReplicas: waitReplicas,
      survivesProcessRestart: true,
      sharedAcrossReplicas: true,
      description:
        waitReplicas > 0
          ? `Create, revoke and logout-all return success only after ${waitReplicas} replica(s) confirm (WAIT); ` +
            'such writes survive a failover. Last-seen write-backs are not confirmed.'
          : 'Writes are acknowledged by the one Redis server; they survive an app restart, and a Redis restart ' +
            'only as far as its persistence (AOF/RDB) goes. Redis is a single point of failure.',
    };
  }

  /** A session's key; public for the near cache, which reads it on a connection of its own. */
  sessionKey(id: string): string {
    return this.sessionPrefix + id;
  }

  /** The session id a key names, or undefined for any other key (an invalidation of the near cache). */
  sessionIdOf(key: string): string | undefined {
    return key.startsWith(this.sessionPrefix) ? key.slice(this.sessionPrefix.length) : undefined;
  }

  private userKey(userId: string): string {
    return this.userPrefix + userId + this.userSuffix;
  }

  async get(id: string): Promise<SessionRecord | null> {
    try {
      return decodeSession(await this.conn.exec.send<string | null>(['GET', this.sessionKey(id)]));
    } catch (err) {
      const failure = classifyRedisError('get', err);
      // Only when no primary can be reached (a failover in progress), not when one is merely slow:
      // then the replicas answer, conservatively (see RedisConnection.replicaGet).
      if (!this.conn.replicaGet || failure.kind !== 'unavailable') throw failure;
      try {
        return decodeSession(await this.conn.replicaGet(this.sessionKey(id)));
      } catch {
        throw failure;
      }
    }
  }

  async create(id: string, record: SessionRecord, opts: CreateSessionOptions): Promise<CreateResult> {
    const now = this.now();
    try {
      const evicted = await this.conn.durable('create', (exec) =>
        runScript<number>(exec, CREATE_SESSION, [this.sessionKey(id), this.userKey(record.userId)], [
          encodeSession(record),
          ttlFor(record, now, opts.idleTimeoutMs),
          record.createdAt,
          opts.maxPerUser,
          this.sessionPrefix,
          id,
          record.absoluteExpiresAt,
        ]),
      );
      return { evicted };
    } catch (err) {
      throw classifyRedisError('create', err);
    }
  }

  async touch(id: string, next: SessionRecord, idleTimeoutMs: number): Promise<boolean> {
    try {
      // XX: a touch racing a revoke must never bring the session back.
      const res = await this.conn.exec.send<string | null>([
        'SET',
        this.sessionKey(id),
        encodeSession(next),
        'XX',
        'PX',
        String(ttlFor(next, this.now(), idleTimeoutMs)),
      ]);
      return res === 'OK';
    } catch (err) {
      throw classifyRedisError('touch', err);
    }
  }

  async revoke(id: string): Promise<boolean> {
    try {
      const n = await this.conn.durable('revoke', (exec) =>
        runScript<number>(exec, REVOKE_SESSION, [this.sessionKey(id)], [this.userPrefix, this.userSuffix, id]),
      );
      return n === 1;
    } catch (err) {
      throw classifyRedisError('revoke', err);
    }
  }

  async listByUser(userId: string): Promise<{ id: string; record: SessionRecord }[]> {
    try {
      const flat = await runScript<string[]>(this.conn.exec, LIST_SESSIONS, [this.userKey(userId)], [this.sessionPrefix]);
      const out: { id: string; record: SessionRecord }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const record = decodeSession(flat[i + 1]);
        if (record) out.push({ id: flat[i]!, record });
      }
      return out.sort((a, b) => a.record.createdAt - b.record.createdAt);
    } catch (err) {
      throw classifyRedisError('list', err);
    }
  }

  async revokeAllForUser(userId: string, exceptId?: string): Promise<number> {
    try {
      return await this.conn.durable('revoke_all', (exec) =>
        runScript<number>(exec, REVOKE_ALL, [this.userKey(userId)], [this.sessionPrefix, exceptId ?? '']),
      );
    } catch (err) {
      throw classifyRedisError('revoke_all', err);
    }
  }

  async ping(): Promise<void> {
    await this.conn.ping();
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}
