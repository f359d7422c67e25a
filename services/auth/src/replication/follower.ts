import type { Counter } from 'prom-client';
import type { Logger } from '../observability/logger.js';
import { reconnectDelay } from '../redis/connection.js';
import { runScript, type RedisExec } from '../redis/exec.js';
import { LocalState, type ChangeEvent, type Entry } from './local-state.js';
import { R_HEAD, type ReplicationKeys, type ReplicationLayout } from './scripts.js';
import { decodeEntry, decodeSnapshotValue, entriesOf } from './stream.js';

export type ResyncReason = 'gap' | 'epoch';

/** What the stream told the follower that only a full load from the snapshot can answer. */
class ResyncNeeded extends Error {
  constructor(readonly reason: ResyncReason, message: string) {
    super(message);
  }
}

/** The follower's next step: a full load, a head check (after an idle block or an error), or the next XREAD. */
type Step = 'load' | 'head' | 'follow';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
const XREAD_COUNT = 1000;

export interface FollowerOptions {
  /** The follower's own connection: it blocks in XREAD, so it shares it with nothing. */
  readonly reader: RedisExec;
  readonly layout: ReplicationLayout;
  /** XREAD BLOCK bound; also how often an idle replica checks the history's head. */
  readonly blockMs: number;
  readonly scanCount: number;
  readonly now: () => number;
  readonly resyncs?: Counter<'reason'> | undefined;
  readonly logger?: Logger | undefined;
}

/**
 * One replica's copy of every session, kept current from Redis: load (head, HSCAN of the
 * snapshot, XRANGE of what came after), then follow the stream in seq order (XREAD BLOCK), and
 * when idle, check the head for a new history. A gap or another epoch sends it back to a load.
 * Own writes are applied at once (read-your-writes) and replayed onto a fresh load.
 */
export class Follower {
  /** Resolves once the first snapshot is loaded; never rejects. */
  readonly ready: Promise<void>;
  private state = new LocalState();
  private seq = 0;
  private epoch = '';
  private loaded = false;
  private closed = false;
  /** True while the last reply proved the reader current (it is waiting in XREAD for the next change). */
  private current = false;
  private confirmedAt: number;
  private readonly startedAt: number;
  /** Own writes applied ahead of the reader, replayed onto a freshly loaded snapshot. */
  private pending: ChangeEvent[] = [];
  private resolveReady!: () => void;
  private loop: Promise<void> | undefined;
  private readonly keys: ReplicationKeys;

  constructor(private readonly o: FollowerOptions) {
    this.keys = o.layout.keys;
    this.startedAt = this.confirmedAt = o.now();
    this.ready = new Promise((r) => (this.resolveReady = r));
  }

  start(onError: (msg: string, err: Error) => void): void {
    this.loop ??= this.run(onError);
  }

  async stop(): Promise<void> {
    this.closed = true;
    await this.loop?.catch(() => {});
  }

  isLoaded(): boolean {
    return this.loaded;
  }

  appliedSeq(): number {
    return this.seq;
  }

  size(): number {
    return this.state.map.size;
  }

  live(id: string): Entry | undefined {
    return this.state.map.live(id, this.o.now());
  }

  listLive(userId: string): { id: string; entry: Entry }[] {
    return this.state.map.listLive(userId, this.o.now());
  }

  sweep(now: number): number {
    return this.state.map.sweep(now);
  }

  /** 0 while the reader is connected and waiting for the next change; else seconds since it last was. */
  lagSeconds(): number {
    const now = this.o.now();
    if (!this.loaded) return (now - this.startedAt) / 1000;
    const since = Math.max(0, now - this.confirmedAt);
    // A healthy reader's XREAD returns at least every blockMs; one outstanding longer than that (a
    // hung server, a dead link) is not yet an error but no longer proof of being current.
    if (this.current && since <= this.o.blockMs + 250) return 0;
    return since / 1000;
  }

  /** A change this replica wrote, confirmed by Redis: visible here now, whatever the reader's position. */
  applyOwn(ev: ChangeEvent): void {
    this.state.apply(ev, this.seq);
    if (ev.seq > this.seq) this.pending.push(ev);
  }

  private confirmed(): void {
    this.current = true;
    this.confirmedAt = this.o.now();
  }

  private lost(): void {
    if (this.current) this.confirmedAt = this.o.now();
    this.current = false;
  }

  private async run(onError: (msg: string, err: Error) => void): Promise<void> {
    let failures = 0;
    let step: Step = 'load';
    while (!this.closed) {
      try {
        step = await this.take(step);
        failures = 0;
      } catch (err) {
        if (this.closed) break;
        if (err instanceof ResyncNeeded) {
          this.o.resyncs?.inc({ reason: err.reason });
          this.o.logger?.warn({ reason: err.reason, seq: this.seq }, 'replicated store resynchronising from the snapshot');
          step = 'load';
          continue;
        }
        this.lost();
        failures++;
        onError('replication reader failed', err as Error);
        await sleep(reconnectDelay(failures));
        // A failed load is retried whole; otherwise the head tells whether what the reader missed
        // meanwhile is still in the stream (same history: XREAD resumes where it was).
        if (step !== 'load') step = 'head';
      }
    }
  }

  private async take(step: Step): Promise<Step> {
    if (step === 'load') {
      await this.load();
      return 'follow';
    }
    if (step === 'head') {
      await this.checkHead();
      return 'follow';
    }
    // Idle: nothing new within the block. A Redis that lost its data starts a new history our
    // XREAD cannot see (its ids are below ours), so ask for the head now and then.
    return (await this.follow()) ? 'follow' : 'head';
  }

  /** One XREAD; false when it came back empty (idle). */
  private async follow(): Promise<boolean> {
    const reply = await this.o.reader.send([
      'XREAD', 'COUNT', String(XREAD_COUNT), 'BLOCK', String(this.o.blockMs), 'STREAMS', this.keys.log, `${this.seq}-0`,
    ]);
    if (this.closed) return true;
    this.confirmed();
    const entries = entriesOf(reply, true);
    if (entries.length === 0) return false;
    for (const raw of entries) {
      const ev = decodeEntry(raw);
      if (!ev) throw new ResyncNeeded('gap', 'undecodable stream entry');
      if (ev.epoch !== this.epoch) throw new ResyncNeeded('epoch', 'stream belongs to another history');
      if (ev.seq <= this.seq) continue;
      if (ev.seq !== this.seq + 1) throw new ResyncNeeded('gap', `expected seq ${this.seq + 1}, got ${ev.seq}`);
      this.state.apply(ev, this.seq);
      this.seq = ev.seq;
    }
    this.settle();
    return true;
  }

  private settle(): void {
    this.state.settle(this.seq);
    if (this.pending.length > 0 && this.pending[0]!.seq <= this.seq) this.pending = this.pending.filter((p) => p.seq > this.seq);
  }

  private async head(): Promise<{ epoch: string; seq: number }> {
    const [epoch, seq] = await runScript<[string, number]>(this.o.reader, R_HEAD, this.o.layout.base, this.o.layout.prelude(this.o.now()));
    return { epoch: String(epoch), seq: Number(seq) };
  }

  private async checkHead(): Promise<void> {
    const h = await this.head();
    if (h.epoch !== this.epoch) throw new ResyncNeeded('epoch', 'Redis holds another history (data lost or replaced)');
    if (h.seq < this.seq) throw new ResyncNeeded('epoch', `history rewound from ${this.seq} to ${h.seq}`);
    this.confirmed();
  }

  /**
   * Full load: the head first (epoch, seq), then HSCAN of the snapshot, then every event after
   * that seq in order. The scan is not atomic, but replaying every change made after the head was
   * read onto it converges, because an event carries the whole new value and per-entry seqs skip
   * events older than what the scan already saw. The old state keeps serving until the swap.
   */
  private async load(): Promise<void> {
    const { epoch, seq: headSeq } = await this.head();
    const fresh = new LocalState();
    const now = this.o.now();
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, flat] = await this.o.reader.send<[string, string[]]>([
        'HSCAN', this.keys.snap, cursor, 'COUNT', String(this.o.scanCount),
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
      const reply = await this.o.reader.send(['XRANGE', this.keys.log, `${seq + 1}-0`, '+', 'COUNT', String(XREAD_COUNT)]);
      const entries = entriesOf(reply, false);
      for (const raw of entries) {
        const ev = decodeEntry(raw);
        if (!ev || ev.epoch !== epoch || ev.seq !== seq + 1) {
          throw new ResyncNeeded('gap', `history moved on during the load (expected ${seq + 1})`);
        }
        fresh.apply(ev, Infinity);
        seq = ev.seq;
      }
      if (entries.length < XREAD_COUNT) break;
    }
    for (const p of this.pending) if (p.seq > seq) fresh.apply(p, seq);
    this.state = fresh;
    this.seq = seq;
    this.epoch = epoch;
    this.settle();
    this.confirmed();
    if (!this.loaded) {
      this.loaded = true;
      this.resolveReady();
    }
  }
}
