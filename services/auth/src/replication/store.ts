import { randomBytes } from 'node:crypto';
import { oncePer, type Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { StoreError } from '../errors.js';
import { createDedicatedConnection } from '../redis/connection.js';
import type { RedisExec } from '../redis/exec.js';
import { startSweeper } from '../sessions/session-map.js';
import { nextTurn } from '../sessions/next-turn.js';
import type { CreateResult, CreateSessionOptions, SessionRecord, SessionStore, StoreGuarantees } from '../sessions/types.js';
import { Follower } from './follower.js';
import type { Written } from './writer.js';
import { ReplicationWriter } from './writer.js';
import { replicationLayout } from './scripts.js';

export interface ReplicatedRedisSettings {
  readonly url: string;
  readonly password?: string | undefined;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/** The two connections a replica uses; the store closes them with itself. */
export interface ReplicationConnections {
  /** For the follower alone: it blocks in XREAD. */
  readonly reader: RedisExec;
  /** For the write scripts: may be the app's shared connection. */
  readonly writer: RedisExec;
  close(): void;
}

export interface ReplicatedStoreOptions {
  /** Key namespace of the stream, snapshot and counters (REPLICATED_KEY_PREFIX). */
  readonly namespace: string;
  readonly commandTimeoutMs: number;
  /** Approximate MAXLEN of the stream; a replica further behind than this resynchronises. */
  readonly streamMaxLen?: number;
  /** 0: serve from memory however long the transport is gone. >0: fail get/ping once this stale. */
  readonly maxStalenessMs?: number;
  /** XREAD BLOCK bound; also how often an idle replica checks the history's head. */
  readonly blockMs?: number;
  readonly sweepIntervalMs?: number;
  readonly scanCount?: number;
  readonly metrics?: Pick<Metrics, 'replicationResyncs' | 'setReplicationLagSource'> | undefined;
  readonly logger?: Logger | undefined;
  readonly now?: () => number;
}

/**
 * Replicated session storage: every replica holds every session in memory and validates without
 * a network hop. Reads come from the follower's copy; writes go through the writer (one script on
 * Redis: snapshot + stream in one atomic step) and are applied here at once. See docs/replicated.md.
 */
export class ReplicatedSessionStore implements SessionStore {
  readonly backend = 'replicated' as const;
  readonly guarantees: StoreGuarantees = {
    confirmedReplicas: 0,
    survivesProcessRestart: true,
    sharedAcrossReplicas: true,
    description:
      'Every replica holds every session in memory; writes go through one Redis (snapshot + stream) and reach ' +
      'other replicas asynchronously. Validation works without Redis; a replica accepts a revoked session until ' +
      'the revocation reaches it (see session_replication_lag_seconds).',
  };
  /** Resolves once the first snapshot is loaded; never rejects. */
  readonly ready: Promise<void>;
  private closed = false;
  private readonly logGate = oncePer(1000);
  private readonly follower: Follower;
  private readonly writer: ReplicationWriter;
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly maxStalenessMs: number;

  constructor(private readonly conns: ReplicationConnections, private readonly opts: ReplicatedStoreOptions) {
    this.now = opts.now ?? Date.now;
    this.maxStalenessMs = opts.maxStalenessMs ?? 0;
    const layout = replicationLayout(opts.namespace, opts.streamMaxLen ?? 100_000, randomBytes(9).toString('base64url'));
    this.follower = new Follower({
      reader: conns.reader,
      layout,
      blockMs: opts.blockMs ?? DEFAULT_BLOCK_MS,
      scanCount: opts.scanCount ?? 2000,
      now: this.now,
      resyncs: opts.metrics?.replicationResyncs,
      logger: opts.logger,
    });
    this.writer = new ReplicationWriter(conns.writer, layout, opts.commandTimeoutMs, this.now, () => this.closed);
    this.ready = this.follower.ready;
    opts.metrics?.setReplicationLagSource(() => this.follower.lagSeconds());
    this.sweeper = startSweeper(this.follower, opts.sweepIntervalMs ?? 60_000, this.now);
    this.follower.start((msg, err) => this.logError(msg, err));
  }

  // Reads: local only.

  async get(id: string): Promise<SessionRecord | null> {
    // Answered in the next event-loop turn, read then (sessions/next-turn.ts: why).
    await nextTurn();
    this.assertServing('get');
    return this.follower.live(id)?.record ?? null;
  }

  async listByUser(userId: string): Promise<{ id: string; record: SessionRecord }[]> {
    this.assertServing('list');
    return this.follower.listLive(userId).map(({ id, entry }) => ({ id, record: entry.record }));
  }

  async ping(): Promise<void> {
    this.assertServing('ping');
  }

  // Writes: on Redis, then applied here at once.

  async create(id: string, record: SessionRecord, opts: CreateSessionOptions): Promise<CreateResult> {
    return { evicted: this.own(await this.writer.create(id, record, opts)) };
  }

  async touch(id: string, next: SessionRecord, idleTimeoutMs: number): Promise<boolean> {
    return this.own(await this.writer.touch(id, next, idleTimeoutMs));
  }

  async revoke(id: string): Promise<boolean> {
    return this.own(await this.writer.revoke(id));
  }

  async revokeAllForUser(userId: string, exceptId?: string): Promise<number> {
    return this.own(await this.writer.revokeAllForUser(userId, exceptId));
  }

  private own<T>(w: Written<T>): T {
    if (w.event) this.follower.applyOwn(w.event);
    return w.result;
  }

  /** 0 while the replica is current; else seconds since it last was (session_replication_lag_seconds). */
  lagSeconds(): number {
    return this.follower.lagSeconds();
  }

  /** The seq of the last change the follower applied in stream order. */
  appliedSeq(): number {
    return this.follower.appliedSeq();
  }

  /** How many sessions this replica holds. */
  size(): number {
    return this.follower.size();
  }

  private assertServing(op: string): void {
    if (this.closed) throw new StoreError(op, 'unavailable', `${op}: store closed`);
    if (!this.follower.isLoaded()) throw new StoreError(op, 'unavailable', `${op}: replica has not loaded its snapshot yet`);
    if (this.maxStalenessMs > 0 && this.follower.lagSeconds() * 1000 > this.maxStalenessMs) {
      throw new StoreError(op, 'unavailable', `${op}: replica is more than ${this.maxStalenessMs} ms behind`);
    }
  }

  private logError(msg: string, err: Error): void {
    if (!this.logGate()) return;
    this.opts.logger?.warn({ err: { message: err.message, name: err.name } }, msg);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    const stopped = this.follower.stop();
    // Destroying the reader fails its outstanding XREAD, which ends the follower's loop.
    this.conns.close();
    await stopped;
  }
}

const DEFAULT_BLOCK_MS = 1000;

/**
 * The connections of one replica from the redis layer: the follower's own (its deadline covers the
 * XREAD block, and it is reset at the first miss: nothing may queue behind a lost reply on the
 * connection the replica's view depends on), and a writer, unless the app's shared one is given.
 */
export function replicationConnections(
  redis: ReplicatedRedisSettings,
  o: { readonly blockMs?: number; readonly writer?: RedisExec | undefined; readonly logger?: Logger | undefined },
): ReplicationConnections {
  const blockMs = o.blockMs ?? DEFAULT_BLOCK_MS;
  const logGate = oncePer(1000);
  const warn = (msg: string) => (err: Error) => {
    if (!logGate()) return;
    o.logger?.warn({ err: { message: err.message, name: err.name } }, msg);
  };
  const reader = createDedicatedConnection(redis, {
    name: 'session-auth:replication-reader',
    timeoutMs: (args) => (args[0] === 'XREAD' ? blockMs : 0) + redis.commandTimeoutMs,
    resetAfter: 1,
    onError: warn('replication reader error'),
    onReset: () => warn('replication reader')(new Error('missed its deadline, reconnecting')),
  });
  const own = o.writer
    ? undefined
    : createDedicatedConnection(redis, {
        name: 'session-auth:replication-writer',
        onError: () => {},
        onReset: () => warn('replication writer')(new Error('commands keep missing their deadline, reconnecting')),
      });
  return {
    reader: reader.exec,
    writer: o.writer ?? own!.exec,
    close() {
      reader.close();
      own?.close();
    },
  };
}

/** A replica on `redis`: its connections from the redis layer, closed with the store. */
export function createReplicatedStore(
  redis: ReplicatedRedisSettings,
  opts: Omit<ReplicatedStoreOptions, 'commandTimeoutMs'> & { readonly writer?: RedisExec | undefined },
): ReplicatedSessionStore {
  const conns = replicationConnections(redis, { blockMs: opts.blockMs, writer: opts.writer, logger: opts.logger });
  return new ReplicatedSessionStore(conns, { ...opts, commandTimeoutMs: redis.commandTimeoutMs });
}
