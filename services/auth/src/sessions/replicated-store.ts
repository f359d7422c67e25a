import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import type { Counter } from 'prom-client';
import type { Metrics } from '../observability/metrics.js';
import type { Logger } from '../observability/logger.js';
import { StoreError } from '../errors.js';
import { deadlineExec, nodeClientOptions, reconnectDelay } from '../redis/connection.js';
import { classifyRedisError } from '../redis/errors.js';
import { withDeadline } from '../redis/deadline.js';
import { runScript, type RedisExec } from '../redis/exec.js';
import type { Script } from '../redis/scripts.js';
import { LocalState, type ChangeEvent } from '../replication/local-state.js';
import {
  baseKeys,
  replicationKeys,
  R_CREATE,
  R_HEAD,
  R_REVOKE,
  R_REVOKE_ALL,
  R_TOUCH,
  type ReplicationKeys,
} from '../replication/scripts.js';
import { decodeEntry, decodeSnapshotValue, entriesOf } from '../replication/stream.js';
import { encodeSession } from './codec.js';
import type { CreateResult, CreateSessionOptions, SessionRecord, SessionStore, StoreGuarantees } from './types.js';
import { ttlFor } from './types.js';

export interface ReplicatedRedisSettings {
  readonly url: string;
  readonly password?: string | undefined;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

export interface ReplicatedStoreOptions {
  readonly redis: ReplicatedRedisSettings;
  /** Connection for the write scripts; default: one of the store's own (closed with it). */
  readonly writer?: RedisExec | undefined;
  /** Key namespace of the stream, snapshot and counters (REPLICATED_CHANNEL). */
  readonly namespace: string;
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

export type ResyncReason = 'gap' | 'epoch';
export type ApplySource = 'reader' | 'local' | 'load';

class ResyncNeeded extends Error {
  constructor(readonly reason: ResyncReason, message: string) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * Replicated session storage: every replica holds every session in memory and validates without
 * a network hop. Writes run one Lua script on the REPLICATED Redis that changes the snapshot hash
 * and appends the change to a stream in the same atomic step; every replica applies the stream in
 * seq order (XREAD BLOCK), detects gaps and lost history, and resynchronises from the snapshot.
 * See docs/replicated.md.
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

  private state = new LocalState();
  private seq = 0;
  private epoch = '';
  private loaded = false;
  private closed = false;
  private paused = false;
  private parked: (() => void) | undefined;
  private unpause: (() => void) | undefined;
  private connected = false;
  private confirmedAt: number;
  private readonly startedAt: number;
  private needResync: ResyncReason | undefined;
  private headCheckDue = false;
  /** Own writes applied ahead of the reader, replayed onto a freshly loaded snapshot. */
  private pending: ChangeEvent[] = [];
  private resolveReady!: () => void;
  private readonly keys: ReplicationKeys;
  private readonly base: string[];
  private readonly reader: { destroy(): void; connect(): Promise<unknown>; sendCommand(args: string[]): Promise<unknown> };
  private readonly readerExec: RedisExec;
  private readonly writer: RedisExec;
  private readonly ownWriter: { destroy(): void } | undefined;
  private readonly epochCandidate = randomBytes(9).toString('base64url');
  private readonly now: () => number;
  private readonly maxLen: number;
  private readonly maxStalenessMs: number;
  private readonly blockMs: number;
  private readonly scanCount: number;
  private readonly sweeper: NodeJS.Timeout;
  private readonly loop: Promise<void>;
  private readonly listeners: ((ev: ChangeEvent, source: ApplySource) => void)[] = [];
  private readonly resyncs: Counter<'reason'> | undefined;
  private lastErrorLog = 0;
  /** Figures for tests and the bench. */
  readonly stats = { resyncs: 0, loads: 0, lastLoadMs: 0, lastLoadSessions: 0, readerErrors: 0, readerResets: 0 };

  constructor(private readonly opts: ReplicatedStoreOptions) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.confirmedAt = this.now();
    this.maxLen = opts.streamMaxLen ?? 100_000;
    this.maxStalenessMs = opts.maxStalenessMs ?? 0;
    this.blockMs = opts.blockMs ?? 1000;
    this.scanCount = opts.scanCount ?? 2000;
    this.keys = replicationKeys(opts.namespace);
    this.base = baseKeys(this.keys);
    this.ready = new Promise((r) => (this.resolveReady = r));

    const clientOptions = nodeClientOptions(opts.redis, { url: opts.redis.url });
    // The reader blocks in XREAD, so it has its own connection. A hung server (SIGSTOP, a dead
    // link) is bounded by the deadline, and the reader connection is reset at the first miss:
    // nothing may queue behind a lost reply on the connection the replica's view depends on.
    const reader = createClient(clientOptions);
    reader.on('error', (err: Error) => this.logError('replication reader error', err));
    reader.connect().catch(() => {});
    this.reader = reader as unknown as ReplicatedSessionStore['reader'];
    this.readerExec = deadlineExec(this.reader, {
      timeoutMs: (args) => (args[0] === 'XREAD' ? this.blockMs : 0) + opts.redis.commandTimeoutMs,
      after: 1,
      canReset: () => !this.closed,
      onReset: () => this.stats.readerResets++,
    });
    if (opts.writer) {
      this.writer = opts.writer;
    } else {
      const w = createClient(clientOptions);
      w.on('error', () => {});
      w.connect().catch(() => {});
      this.ownWriter = w;
      // write() bounds every call end to end; this resets a connection that keeps missing it.
      this.writer = deadlineExec(w as unknown as ReplicatedSessionStore['reader'], {
        timeoutMs: opts.redis.commandTimeoutMs,
        canReset: () => !this.closed,
        onReset: () => this.logError('replication writer', new Error('commands keep missing their deadline, reconnecting')),
      });
    }

    if (opts.metrics) {
      opts.metrics.setReplicationLagSource(() => this.lagSeconds());
      this.resyncs = opts.metrics.replicationResyncs;
    }

    this.sweeper = setInterval(() => this.state.sweep(this.now()), opts.sweepIntervalMs ?? 60_000);
    this.sweeper.unref();
    this.loop = this.run();
  }

  // ------------------------------------------------------------------------------------------
  // Reads: local only.

  async get(id: string): Promise<SessionRecord | null> {
    this.assertServing('get');
    return this.state.live(id, this.now())?.record ?? null;
  }

  async listByUser(userId: string): Promise<{ id: string; record: SessionRecord }[]> {
    this.assertServing('list');
    const set = this.state.byUser.get(userId);
    if (!set) return [];
    const now = this.now();
    const out: { id: string; record: SessionRecord }[] = [];
    for (const id of [...set]) {
      const e = this.state.live(id, now);
      if (e) out.push({ id, record: e.record });
    }
    return out.sort((a, b) => a.record.createdAt - b.record.createdAt);
  }

  async ping(): Promise<void> {
    this.assertServing('ping');
  }

  // ------------------------------------------------------------------------------------------
  // Writes: one script on Redis (state + event atomically), then applied here at once.

  async create(id: string, record: SessionRecord, opts: CreateSessionOptions): Promise<CreateResult> {
    const now = this.now();
    const expiresAt = now + ttlFor(record, now, opts.idleTimeoutMs);
    const res = await this.write<(number | string)[]>('create', R_CREATE, [this.keys.userPrefix + record.userId], now, [
      id,
      encodeSession(record),
      expiresAt,
      record.createdAt,
      opts.maxPerUser,
      record.absoluteExpiresAt,
    ]);
    const seq = Number(res[0]);
    const evicted = res.slice(2).map(String);
    this.applyLocal({ seq, put: { id, record, expiresAt }, dels: evicted });
    return { evicted: Number(res[1]) };
  }

  async touch(id: string, next: SessionRecord, idleTimeoutMs: number): Promise<boolean> {
    const now = this.now();
    const expiresAt = now + ttlFor(next, now, idleTimeoutMs);
    const res = await this.write<number[]>('touch', R_TOUCH, [], now, [id, encodeSession(next), expiresAt]);
    const seq = Number(res[0]);
    if (seq === 0) return false;
    this.applyLocal({ seq, put: { id, record: next, expiresAt }, dels: [] });
    return true;
  }

  async revoke(id: string): Promise<boolean> {
    const res = await this.write<number[]>('revoke', R_REVOKE, [], this.now(), [id, this.keys.userPrefix]);
    const seq = Number(res[0]);
    if (seq > 0) this.applyLocal({ seq, dels: [id] });
    return Number(res[1]) === 1;
  }

  async revokeAllForUser(userId: string, exceptId?: string): Promise<number> {
    const res = await this.write<(number | string)[]>('revoke_all', R_REVOKE_ALL, [this.keys.userPrefix + userId], this.now(), [
      exceptId ?? '',
    ]);
    const seq = Number(res[0]);
    if (seq > 0) this.applyLocal({ seq, dels: res.slice(2).map(String) });
    return Number(res[1]);
  }

  private async write<T>(op: string, s: Script, extraKeys: string[], now: number, args: (string | number)[]): Promise<T> {
    if (this.closed) throw new StoreError(op, 'unavailable', `${op}: store closed`);
    try {
      return await withDeadline(
        op,
        this.opts.redis.commandTimeoutMs,
        runScript<T>(this.writer, s, [...this.base, ...extraKeys], [now, this.maxLen, this.epochCandidate, ...args]),
      );
    } catch (err) {
      throw classifyRedisError(op, err);
    }
  }

  private applyLocal(ev: ChangeEvent): void {
    this.state.apply(ev, this.seq);
    if (ev.seq > this.seq) this.pending.push(ev);
    this.emit(ev, 'local');
  }

  // ------------------------------------------------------------------------------------------
  // Serving state.

  private assertServing(op: string): void {
    if (this.closed) throw new StoreError(op, 'unavailable', `${op}: store closed`);
    if (!this.loaded) throw new StoreError(op, 'unavailable', `${op}: replica has not loaded its snapshot yet`);
    if (this.maxStalenessMs > 0 && this.lagSeconds() * 1000 > this.maxStalenessMs) {
      throw new StoreError(op, 'unavailable', `${op}: replica is more than ${this.maxStalenessMs} ms behind`);
    }
  }

  /** 0 while the reader is connected and waiting for the next change; else seconds since it last was. */
  lagSeconds(): number {
    if (!this.loaded) return (this.now() - this.startedAt) / 1000;
    const since = Math.max(0, this.now() - this.confirmedAt);
    // A healthy reader's XREAD returns at least every blockMs; one outstanding longer than that (a
    // hung server, a dead link) is not yet an error but no longer proof of being current.
    if (this.connected && !this.paused && since <= this.blockMs + 250) return 0;
    return since / 1000;
  }

  isLoaded(): boolean {
    return this.loaded;
  }

  appliedSeq(): number {
    return this.seq;
  }

  size(): number {
    return this.state.sessions.size;
  }

  /** Called for every change applied (bench and tests). */
  onApply(fn: (ev: ChangeEvent, source: ApplySource) => void): void {
    this.listeners.push(fn);
  }

  private emit(ev: ChangeEvent, source: ApplySource): void {
    for (const fn of this.listeners) fn(ev, source);
  }

  /** Test hook: stop applying the stream (a partitioned replica). Resolves once the reader is parked. */
  async pauseReader(): Promise<void> {
    if (this.paused) return;
    this.paused = true;
    this.confirmedAt = Math.min(this.confirmedAt, this.now());
    await new Promise<void>((r) => (this.parked = r));
  }

  resumeReader(): void {
    this.paused = false;
    this.unpause?.();
  }

  // ------------------------------------------------------------------------------------------
  // The reader: load, then follow the stream in order; resynchronise on a gap or a new history.

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      if (this.paused) {
        if (this.connected) this.confirmedAt = this.now();
        this.connected = false;
        await new Promise<void>((r) => {
          this.unpause = r;
          this.parked?.();
          this.parked = undefined;
        });
        this.unpause = undefined;
        this.headCheckDue = true;
        continue;
      }
      try {
        if (!this.loaded || this.needResync) {
          await this.load();
        } else if (this.headCheckDue) {
          await this.checkHead();
        } else {
          await this.follow();
        }
        failures = 0;
      } catch (err) {
        if (this.closed) break;
        if (err instanceof ResyncNeeded) {
          this.requestResync(err.reason);
          continue;
        }
        if (this.connected) this.confirmedAt = this.now();
        this.connected = false;
        this.headCheckDue = true;
        this.stats.readerErrors++;
        failures++;
        this.logError('replication reader failed', err as Error);
        await sleep(reconnectDelay(failures));
      }
    }
    this.parked?.();
  }

  private requestResync(reason: ResyncReason): void {
    this.needResync = reason;
    this.stats.resyncs++;
    this.resyncs?.inc({ reason });
    this.opts.logger?.warn({ reason, seq: this.seq }, 'replicated store resynchronising from the snapshot');
  }

  private async follow(): Promise<void> {
    const reply = await this.readerExec.send([
      'XREAD', 'COUNT', '1000', 'BLOCK', String(this.blockMs), 'STREAMS', this.keys.log, `${this.seq}-0`,
    ]);
    if (this.closed) return;
    if (!this.paused) {
      this.connected = true;
      this.confirmedAt = this.now();
    }
    const entries = entriesOf(reply, true);
    // Idle: nothing new within the block. A Redis that lost its data starts a new history our
    // XREAD cannot see (its ids are below ours), so ask for the head now and then.
    if (entries.length === 0) {
      this.headCheckDue = true;
      return;
    }
    for (const raw of entries) {
      const ev = decodeEntry(raw);
      if (!ev) throw new ResyncNeeded('gap', 'undecodable stream entry');
      if (ev.epoch !== this.epoch) throw new ResyncNeeded('epoch', 'stream belongs to another history');
      if (ev.seq <= this.seq) continue;
      if (ev.seq !== this.seq + 1) throw new ResyncNeeded('gap', `expected seq ${this.seq + 1}, got ${ev.seq}`);
      this.state.apply(ev, this.seq);
      this.seq = ev.seq;
      this.emit(ev, 'reader');
    }
    this.settle();
  }

  private settle(): void {
    this.state.settle(this.seq);
    if (this.pending.length > 0 && this.pending[0]!.seq <= this.seq) this.pending = this.pending.filter((p) => p.seq > this.seq);
  }

  private async head(): Promise<{ epoch: string; seq: number }> {
    const [epoch, seq] = await runScript<[string, number]>(this.readerExec, R_HEAD, this.base, [
      this.now(),
      this.maxLen,
      this.epochCandidate,
    ]);
    return { epoch: String(epoch), seq: Number(seq) };
  }

  private async checkHead(): Promise<void> {
    const h = await this.head();
    this.headCheckDue = false;
    if (h.epoch !== this.epoch) throw new ResyncNeeded('epoch', 'Redis holds another history (data lost or replaced)');
    if (h.seq < this.seq) throw new ResyncNeeded('epoch', `history rewound from ${this.seq} to ${h.seq}`);
    if (!this.paused) {
      this.connected = true;
      this.confirmedAt = this.now();
    }
  }

  /**
   * Full load: the head first (epoch, seq), then HSCAN of the snapshot, then every event after
   * that seq in order. The scan is not atomic, but replaying every change made after the head was
   * read onto it converges, because an event carries the whole new value and per-entry seqs skip
   * events older than what the scan already saw. The old state keeps serving until the swap.
   */
  private async load(): Promise<void> {
    const t0 = performance.now();
    const { epoch, seq: headSeq } = await this.head();
    const fresh = new LocalState();
    const now = this.now();
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, flat] = await this.readerExec.send<[string, string[]]>([
        'HSCAN', this.keys.snap, cursor, 'COUNT', String(this.scanCount),
      ]);
      cursor = String(next);
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const v = decodeSnapshotValue(flat[i + 1]!);
        if (v && v.expiresAt > now) fresh.apply({ seq: v.seq, put: { id: flat[i]!, record: v.record, expiresAt: v.expiresAt }, dels: [] }, Infinity);
      }
      if (++rounds % 50 === 0) await new Promise((r) => setImmediate(r));
    } while (cursor !== '0' && !this.closed);
    let seq = headSeq;
    for (;;) {
      const reply = await this.readerExec.send(['XRANGE', this.keys.log, `${seq + 1}-0`, '+', 'COUNT', '1000']);
      const entries = entriesOf(reply, false);
      for (const raw of entries) {
        const ev = decodeEntry(raw);
        if (!ev || ev.epoch !== epoch || ev.seq !== seq + 1) {
          throw new ResyncNeeded('gap', `history moved on during the load (expected ${seq + 1})`);
        }
        fresh.apply(ev, Infinity);
        seq = ev.seq;
      }
      if (entries.length < 1000) break;
    }
    for (const p of this.pending) if (p.seq > seq) fresh.apply(p, seq);
    this.state = fresh;
    this.seq = seq;
    this.epoch = epoch;
    this.needResync = undefined;
    this.headCheckDue = false;
    this.settle();
    this.connected = !this.paused;
    this.confirmedAt = this.now();
    this.stats.loads++;
    this.stats.lastLoadMs = performance.now() - t0;
    this.stats.lastLoadSessions = fresh.sessions.size;
    this.emit({ seq, dels: [] }, 'load');
    if (!this.loaded) {
      this.loaded = true;
      this.resolveReady();
    }
  }

  private logError(msg: string, err: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 1000) return;
    this.lastErrorLog = now;
    this.opts.logger?.warn({ err: { message: err.message, name: err.name } }, msg);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.unpause?.();
    for (const c of [this.reader, this.ownWriter]) {
      try {
        c?.destroy();
      } catch {
        // Already closed.
      }
    }
    await this.loop.catch(() => {});
  }
}
