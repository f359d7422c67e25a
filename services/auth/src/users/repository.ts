import { randomBytes } from 'node:crypto';
import { slotTag, tagged } from '../hash-tag.js';

/**
 * 128 random bits, 22 characters: shorter than a UUID in every session record that carries it.
 * In cluster mode the id is led by the email's slot tag (`{abcd}` + 22): every key of the user
 * (record, email index, session index, sessions) then hashes to one slot (docs/cluster.md).
 */
export function newUserId(tag?: string): string {
  const random = randomBytes(16).toString('base64url');
  return tag === undefined ? random : tagged(tag) + random;
}
import type { RedisConnection } from '../redis/connection.js';
import { runScript } from '../redis/exec.js';
import { CREATE_USER, DELETE_USER, SET_PASSWORD_HASH } from './scripts.js';
import { classifyRedisError } from '../redis/errors.js';

export interface User {
  readonly id: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly createdAt: number;
}

export class EmailTakenError extends Error {
  readonly code = 'EMAIL_TAKEN';
  constructor() {
    super('email taken');
  }
}

export interface UserRepository {
  findByEmail(email: string): Promise<User | null>;
  findById(id: string): Promise<User | null>;
  /** Durable where the store has replicas. Throws EmailTakenError. */
  create(email: string, passwordHash: string): Promise<User>;
  /** A rehash at login: best effort, not waited on by replicas. Never recreates a deleted user. */
  updatePasswordHash(id: string, passwordHash: string): Promise<void>;
  /** A password change: durable where the store has replicas; false when the user is gone. */
  setPasswordHash(id: string, passwordHash: string): Promise<boolean>;
  /** Removes the user and its email index, durably; false when it was already gone. */
  delete(user: Pick<User, 'id' | 'email'>): Promise<boolean>;
}

export class MemoryUserRepository implements UserRepository {
  private readonly byId = new Map<string, User>();
  private readonly byEmail = new Map<string, string>();

  async findByEmail(email: string): Promise<User | null> {
    const id = this.byEmail.get(email);
    return id ? (this.byId.get(id) ?? null) : null;
  }

  async findById(id: string): Promise<User | null> {
    return this.byId.get(id) ?? null;
  }

  async create(email: string, passwordHash: string): Promise<User> {
    if (this.byEmail.has(email)) throw new EmailTakenError();
    const user: User = { id: newUserId(), email, passwordHash, createdAt: Date.now() };
    this.byId.set(user.id, user);
    this.byEmail.set(email, user.id);
    return user;
  }

  async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.setPasswordHash(id, passwordHash);
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<boolean> {
    const u = this.byId.get(id);
    if (!u) return false;
    this.byId.set(id, { ...u, passwordHash });
    return true;
  }

  async delete(user: Pick<User, 'id' | 'email'>): Promise<boolean> {
    const existed = this.byId.delete(user.id);
    if (this.byEmail.get(user.email) === user.id) this.byEmail.delete(user.email);
    return existed;
  }
}

/**
 * Keys: `<prefix>email:<email>` -> id, `<prefix>user:<id>` hash {id, email, hash, createdAt}.
 * Slot-tagged (cluster): `<prefix>email:{tag}<email>` and ids led by the same `{tag}`, tag =
 * slotTag(email), so CREATE_USER and DELETE_USER touch one slot.
 */
export class RedisUserRepository implements UserRepository {
  constructor(
    private readonly conn: RedisConnection,
    private readonly prefix: string,
    private readonly slotTagged = false,
  ) {}

  private emailKey(email: string): string {
    return this.slotTagged ? `${this.prefix}email:${tagged(slotTag(email))}${email}` : `${this.prefix}email:${email}`;
  }

  async findByEmail(email: string): Promise<User | null> {
    try {
      const id = await this.conn.exec.send<string | null>(['GET', this.emailKey(email)]);
      return id ? await this.findById(id) : null;
    } catch (err) {
      throw classifyRedisError('user_get', err);
    }
  }

  async findById(id: string): Promise<User | null> {
    try {
      // HMGET, not HGETALL: its reply is a plain array whatever the protocol version, whereas
      // node-redis turns an HGETALL reply into an object (so indexing it as an array found nothing).
      const [email, hash, createdAt] = await this.conn.exec.send<(string | null)[]>([
        'HMGET',
        `${this.prefix}user:${id}`,
        'email',
        'hash',
        'createdAt',
      ]);
      if (!email || !hash) return null;
      return { id, email, passwordHash: hash, createdAt: Number(createdAt ?? 0) };
    } catch (err) {
      throw classifyRedisError('user_get', err);
    }
  }

  async create(email: string, passwordHash: string): Promise<User> {
    const user: User = { id: newUserId(this.slotTagged ? slotTag(email) : undefined), email, passwordHash, createdAt: Date.now() };
    let created: number;
    try {
      created = await this.conn.durable('user_create', (exec) =>
        runScript<number>(exec, CREATE_USER, [this.emailKey(email), `${this.prefix}user:${user.id}`], [
          user.id,
          email,
          passwordHash,
          user.createdAt,
        ]),
      );
    } catch (err) {
      throw classifyRedisError('user_create', err);
    }
    if (created !== 1) throw new EmailTakenError();
    return user;
  }

  async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
    try {
      await runScript(this.conn.exec, SET_PASSWORD_HASH, [`${this.prefix}user:${id}`], [passwordHash]);
    } catch (err) {
      throw classifyRedisError('user_update', err);
    }
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<boolean> {
    try {
      // Durable (WAIT on sentinel): a change the client was told about must survive a failover,
      // or the old password would work again on the promoted replica.
      const n = await this.conn.durable('user_update', (exec) =>
        runScript<number>(exec, SET_PASSWORD_HASH, [`${this.prefix}user:${id}`], [passwordHash]),
      );
      return n === 1;
    } catch (err) {
      throw classifyRedisError('user_update', err);
    }
  }

  async delete(user: Pick<User, 'id' | 'email'>): Promise<boolean> {
    try {
      const n = await this.conn.durable('user_delete', (exec) =>
        runScript<number>(exec, DELETE_USER, [`${this.prefix}user:${user.id}`, this.emailKey(user.email)], [user.id]),
      );
      return n === 1;
    } catch (err) {
      throw classifyRedisError('user_delete', err);
    }
  }
}
