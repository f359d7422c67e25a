import { connect, type Socket } from 'node:net';
import { encodeCommand, RespError, RespParser, type Endpoint } from './resp.js';

export interface SentinelEvent {
  /** Date.now() when the harness received it: the clock chaos experiments measure with. */
  at: number;
  /** Name of the sentinel process that published it, e.g. "sentinel-1". */
  sentinel: string;
  /** '+sdown', '+odown', '+switch-master', '+failover-end', ... */
  channel: string;
  message: string;
}

export interface SentinelEventStream {
  on(cb: (e: SentinelEvent) => void): void;
  all(): SentinelEvent[];
  /** Resolves once every sentinel's first PSUBSCRIBE was confirmed or failed (never rejects). */
  readonly ready: Promise<void>;
  /** First event (already received or future) on `channel` matching `match`; rejects on timeout. */
  waitFor(channel: string, opts?: { match?: (e: SentinelEvent) => boolean; timeoutMs?: number; since?: number }): Promise<SentinelEvent>;
  close(): Promise<void>;
}

export interface SentinelSource {
  name: string;
  endpoint: Endpoint;
}

const RECONNECT_DELAY_MS = 100;

/**
 * One PSUBSCRIBE '*' connection per sentinel, reconnecting when a sentinel restarts. Raw sockets
 * so that the receive timestamp is taken in the data callback, with no client queueing between.
 */
class Subscription {
  private socket: Socket | undefined;
  private closed = false;
  private warned = false;
  private timer: NodeJS.Timeout | undefined;
  private firstAttemptDone!: () => void;
  readonly firstAttempt = new Promise<void>((r) => (this.firstAttemptDone = r));

  constructor(
    private readonly source: SentinelSource,
    private readonly emit: (e: SentinelEvent) => void,
  ) {
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    const { host, port, password } = this.source.endpoint;
    const parser = new RespParser();
    const socket = connect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      const cmds = password ? [['AUTH', password], ['PSUBSCRIBE', '*']] : [['PSUBSCRIBE', '*']];
      socket.write(Buffer.concat(cmds.map(encodeCommand)));
    });
    socket.on('data', (chunk: Buffer) => {
      const at = Date.now();
      let replies;
      try {
        replies = parser.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const reply of replies) {
        if (reply instanceof RespError) {
          // Wrong password or similar: the stream stays open but would record nothing from this
          // sentinel; say so once instead of failing silently.
          if (!this.warned) {
            this.warned = true;
            process.emitWarning(`sentinel events from ${this.source.name} unavailable: ${reply.message}`);
          }
          this.firstAttemptDone();
          continue;
        }
        if (!Array.isArray(reply)) continue;
        const [kind, , channel, message] = reply;
        if (kind === 'psubscribe') this.firstAttemptDone();
        else if (kind === 'pmessage' && typeof channel === 'string') {
          this.emit({ at, sentinel: this.source.name, channel, message: typeof message === 'string' ? message : '' });
        }
      }
    });
    socket.on('error', () => {
      // 'close' follows and schedules the reconnect.
    });
    socket.on('close', () => {
      this.firstAttemptDone();
      if (this.socket === socket) this.socket = undefined;
      if (!this.closed) this.timer = setTimeout(() => this.connect(), RECONNECT_DELAY_MS);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const socket = this.socket;
    if (!socket || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }
}

export function subscribeSentinelEvents(sources: readonly SentinelSource[]): SentinelEventStream {
  const events: SentinelEvent[] = [];
  const listeners: ((e: SentinelEvent) => void)[] = [];
  const emit = (e: SentinelEvent): void => {
    events.push(e);
    for (const cb of [...listeners]) {
      try {
        cb(e);
      } catch (err) {
        // A listener's bug must not stop the recording other listeners depend on.
        process.emitWarning(`SentinelEventStream listener threw: ${(err as Error).message}`);
      }
    }
  };
  const subs = sources.map((s) => new Subscription(s, emit));
  const ready = Promise.all(subs.map((s) => s.firstAttempt)).then(() => undefined);

  return {
    ready,
    on(cb) {
      listeners.push(cb);
    },
    all() {
      return [...events];
    },
    waitFor(channel, opts = {}) {
      const { match = () => true, timeoutMs = 30_000, since = 0 } = opts;
      const accept = (e: SentinelEvent): boolean => e.channel === channel && e.at >= since && match(e);
      const seen = events.find(accept);
      if (seen) return Promise.resolve(seen);
      return new Promise<SentinelEvent>((resolve, reject) => {
        const cb = (e: SentinelEvent): void => {
          if (!accept(e)) return;
          clearTimeout(timer);
          listeners.splice(listeners.indexOf(cb), 1);
          resolve(e);
        };
        const timer = setTimeout(() => {
          listeners.splice(listeners.indexOf(cb), 1);
          reject(new Error(`no sentinel event ${channel} within ${timeoutMs} ms`));
        }, timeoutMs);
        listeners.push(cb);
      });
    },
    async close() {
      await Promise.all(subs.map((s) => s.close()));
    },
  };
}
