import { createClient } from 'redis';
import type { Logger } from '../observability/logger.js';
import { deadlineExec, nodeClientOptions, type PrimaryTarget } from './connection.js';
import type { RedisExec } from './exec.js';

const makeClient = (s: TrackedReaderSettings, target: PrimaryTarget) =>
  createClient({
    ...nodeClientOptions(s, target),
    RESP: 3,
    emitInvalidate: true,
    // Not a managed Redis: no maintenance-notification handshake.
    maintNotifications: 'disabled',
  });
type TrackedClient = ReturnType<typeof makeClient>;

export type ResetReason = 'disconnect' | 'primary_change' | 'flush_all';

export interface TrackedReaderEvents {
  /** The server says this key changed (or expired, or was evicted) since this client read it. */
  onInvalidate(key: string): void;
  /**
   * Everything read before this point may be stale: the server flushed its tracking table, the
   * connection dropped or was reset (invalidations sent meanwhile are lost), or the primary moved.
   */
  onReset(reason: ResetReason): void;
}

export interface TrackedReaderSettings {
  readonly password: string | undefined;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
}

/**
 * One RESP3 connection to the current primary with server-assisted client-side caching on
 * (CLIENT TRACKING ON, sent by node-redis on every (re)connect when emitInvalidate is set).
 * Invalidations arrive as push messages on this same connection, so they are ordered with its
 * replies: an invalidation for a key always arrives after the reply that read it. Only session
 * reads are sent here, so only session keys are tracked (what OPTIN would give on a shared
 * connection, without a CLIENT CACHING round trip per read). Our own Sentinel connection opens
 * this client itself, so the RESP3 setting reaches the node client by construction (the gap
 * node-redis's createSentinel has, node-redis issue 3010, does not arise).
 */
export class TrackedReader {
  /** Bumped on every reset: a read that started in an older epoch must not be cached. */
  epoch = 0;
  private client: TrackedClient | undefined;
  private exec: RedisExec | undefined;
  private closed = false;
  private target: PrimaryTarget | undefined;

  constructor(
    private readonly s: TrackedReaderSettings,
    private readonly events: TrackedReaderEvents,
    private readonly logger: Logger,
  ) {}

  /** True while answers from this connection can be cached (connected, tracking on). */
  get usable(): boolean {
    return !this.closed && this.client?.isReady === true;
  }

  /** Points the connection at `target` (the first primary, or a new one after a failover). */
  retarget(target: PrimaryTarget | undefined): void {
    if (this.closed || sameTarget(target, this.target)) return;
    const first = this.target === undefined;
    this.target = target;
    this.drop();
    if (!first) this.reset('primary_change');
    if (target) this.open(target);
  }

  /**
   * The value and its remaining TTL (ms; negative when it has none), pipelined on the tracked
   * connection: a cached entry then never outlives its key, whether or not Redis has expired it yet.
   */
  async getWithTtl(key: string): Promise<{ value: string | null; ttlMs: number }> {
    const exec = this.exec;
    if (!exec) throw new Error('tracked connection not open');
    const [value, ttlMs] = await Promise.all([exec.send<string | null>(['GET', key]), exec.send<number>(['PTTL', key])]);
    return { value, ttlMs };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.drop();
  }

  private reset(reason: ResetReason): void {
    this.epoch++;
    this.events.onReset(reason);
  }

  private open(target: PrimaryTarget): void {
    const client = makeClient(this.s, target);
    this.client = client;
    let wasReady = false;
    client.on('invalidate', (key: string | Buffer | null) => {
      if (key === null) this.reset('flush_all');
      else this.events.onInvalidate(key.toString());
    });
    // Any gap in the connection loses the invalidations sent meanwhile: flush when it goes and
    // again when it is back (reads that raced the gap are then refused by the epoch).
    const gap = () => {
      if (client !== this.client) return;
      this.reset('disconnect');
    };
    client.on('error', gap);
    client.on('end', gap);
    client.on('reconnecting', gap);
    client.on('ready', () => {
      if (wasReady) gap();
      wasReady = true;
    });
    client.connect().catch((err: Error) => this.logger.warn({ err: { message: err.message } }, 'near cache: tracked connection failed'));
    this.exec = deadlineExec(client as unknown as Parameters<typeof deadlineExec>[0], {
      timeoutMs: this.s.commandTimeoutMs,
      onReset: () => {
        this.logger.warn('near cache: tracked reads keep missing their deadline, reconnecting');
        gap();
      },
      canReset: () => !this.closed && client === this.client,
    });
  }

  private drop(): void {
    const c = this.client;
    this.client = undefined;
    this.exec = undefined;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => {});
      try {
        c.destroy();
      } catch {
        // never connected
      }
    }
  }
}

function sameTarget(a: PrimaryTarget | undefined, b: PrimaryTarget | undefined): boolean {
  if (!a || !b) return a === b;
  if ('url' in a || 'url' in b) return 'url' in a && 'url' in b && a.url === b.url;
  return a.host === b.host && a.port === b.port;
}
