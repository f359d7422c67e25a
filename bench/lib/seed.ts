// Seeds sessions straight through the service's own store code (RedisSessionStore.create, the
// same Lua script a login runs), never through argon2 logins.
import { createHmac } from 'node:crypto';
import { createStandaloneConnection, type RedisConnection } from '../../services/auth/src/redis/connection.js';
import { RedisSessionStore } from '../../services/auth/src/sessions/redis-store.js';
import { newHandle, newToken, sessionIdFromToken } from '../../services/auth/src/sessions/token.js';
import { newUserId } from '../../services/auth/src/users/repository.js';
import { slotTag } from '../../services/auth/src/hash-tag.js';
import { createLogger } from '../../services/auth/src/observability/logger.js';
import { createMetrics } from '../../services/auth/src/observability/metrics.js';

const UAS = ['Chrome 120 on Windows', 'Safari 17 on macOS', 'Firefox 121 on Linux', 'Chrome 120 on Android', 'Safari 17 on iOS'];
export const IDLE_MS = 1800_000;
const ABSOLUTE_MS = 43_200_000;

/** koa-session's signature (cookies/keygrip: HMAC-SHA1, base64url) of `name=value`. */
export function signedCookie(name: string, token: string, key: string): string {
  const sig = createHmac('sha1', key).update(`${name}=${token}`).digest('base64url');
  return `${name}=${token}; ${name}.sig=${sig}`;
}

export class Seeder {
  readonly conn: RedisConnection;
  readonly store: RedisSessionStore;
  private users: { id: string; email: string }[] = [];
  seeded = 0;
  /** One seeded session id and its user id, for MEMORY USAGE samples. */
  example: { id: string; userId: string } | undefined;

  /**
   * `url`: a standalone server; or a connection (the cluster's). `slotTagged`: user ids (and so
   * session ids) carry the user's slot tag, as the service mints them in cluster mode.
   */
  constructor(
    target: string | RedisConnection,
    private readonly slotTagged = false,
  ) {
    this.conn =
      typeof target === 'string'
        ? createStandaloneConnection(
            { url: target, password: undefined, commandTimeoutMs: 30_000, connectTimeoutMs: 2000, waitReplicas: 0, waitTimeoutMs: 250 },
            createLogger('warn'),
            createMetrics({ defaultMetrics: false }),
          )
        : target;
    this.store = new RedisSessionStore(this.conn, 'sa:v1:', 0);
  }

  async usedMemory(): Promise<number> {
    const info = await this.conn.exec.send<string>(['INFO', 'memory']);
    const m = /used_memory:(\d+)/.exec(info);
    if (!m) throw new Error('no used_memory in INFO');
    return Number(m[1]);
  }

  /** MEMORY USAGE of one session key and of its user's index (bytes, as Redis accounts them). */
  async keyUsage(): Promise<{ sessionKey: number; userIndex: number; sessionValueBytes: number }> {
    const ex = this.example;
    if (!ex) throw new Error('nothing seeded');
    const sk = `sa:v1:s:${ex.id}`;
    const uk = `sa:v1:u:${ex.userId}:s`;
    const [a, b, len] = await Promise.all([
      this.conn.exec.send<number>(['MEMORY', 'USAGE', sk, 'SAMPLES', '0']),
      this.conn.exec.send<number>(['MEMORY', 'USAGE', uk, 'SAMPLES', '0']),
      this.conn.exec.send<number>(['STRLEN', sk]),
    ]);
    return { sessionKey: a, userIndex: b, sessionValueBytes: len };
  }

  private user(i: number): { id: string; email: string } {
    // ~2 sessions per user: user k owns sessions 2k and 2k+1.
    const k = i >> 1;
    while (this.users.length <= k) {
      const n = this.users.length;
      // ~25-character addresses, e.g. "ana.k0012345@example.com".
      const email = `${'abcdefghij'[n % 10]}na.k${String(n).padStart(7, '0')}@example.com`;
      this.users.push({ id: newUserId(this.slotTagged ? slotTag(email) : undefined), email });
    }
    return this.users[k]!;
  }

  /**
   * Creates sessions until `total` exist, `concurrency` commands in flight (node-redis pipelines
   * them). Returns the tokens of up to `sample` sessions spread over the new range.
   */
  async seedTo(total: number, opts: { concurrency?: number; sample?: number } = {}): Promise<string[]> {
    const concurrency = opts.concurrency ?? 512;
    const start = this.seeded;
    const count = total - start;
    const every = Math.max(1, Math.floor(count / Math.max(1, opts.sample ?? 1)));
    const sample: string[] = [];
    let next = start;
    const now = Date.now();
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const user = this.user(i);
        const token = newToken(user.id);
        const id = sessionIdFromToken(token);
        this.example ??= { id, userId: user.id };
        await this.store.create(
          id,
          {
            userId: user.id,
            email: user.email,
            handle: newHandle(),
            createdAt: now,
            lastSeenAt: now,
            absoluteExpiresAt: now + ABSOLUTE_MS,
            ip: `${81 + (i % 120)}.${(i >> 3) & 255}.${(i >> 11) & 255}.${1 + (i % 253)}`,
            userAgent: UAS[i % UAS.length]!,
          },
          { idleTimeoutMs: IDLE_MS, maxPerUser: 10 },
        );
        if (opts.sample && (i - start) % every === 0 && sample.length < opts.sample) sample.push(token);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    this.seeded = total;
    return sample;
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

