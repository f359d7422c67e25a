import { StoreError } from '../errors.js';

/**
 * Bounds a store operation end to end. node-redis's per-command timeout starts only once a command
 * is queued on a socket and stops once it is written, so neither a hung server nor a failover wait
 * is covered. Abandoning the wait is safe because every store write is idempotent: if it still
 * runs later, it leaves the state a retry would.
 */
export function withDeadline<T>(op: string, ms: number, work: Promise<T>): Promise<T> {
  return sweeper(ms).track(op, work);
}

interface Pending {
  readonly at: number;
  readonly op: string;
  readonly reject: (err: Error) => void;
  done: boolean;
}

/**
 * One timer per timeout value instead of one per command: per-command timers (and node-redis's
 * AbortSignal.timeout) cost ~7% of a validated request in the profile. All entries of one sweeper
 * share the same timeout, so they expire in insertion order and a FIFO suffices.
 */
class Sweeper {
  private queue: Pending[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  track<T>(op: string, work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Monotonic: a wall-clock step back would otherwise hold every deadline until it caught up.
      const entry: Pending = { at: performance.now() + this.ms, op, reject, done: false };
      this.queue.push(entry);
      this.arm();
      work.then(
        (v) => {
          entry.done = true;
          resolve(v);
        },
        (err: unknown) => {
          entry.done = true;
          reject(err);
        },
      );
    });
  }

  private arm(): void {
    if (this.timer) return;
    // Resolution of a tenth of the bound (at least 5 ms): a 500 ms deadline fires within 550 ms.
    this.timer = setInterval(() => this.sweep(), Math.max(5, Math.floor(this.ms / 10)));
    this.timer.unref();
  }

  private sweep(): void {
    const now = performance.now();
    while (this.head < this.queue.length) {
      const e = this.queue[this.head]!;
      if (!e.done) {
        if (e.at > now) break;
        e.done = true;
        e.reject(new StoreError(e.op, 'timeout', `${e.op}: no answer within ${this.ms} ms`));
      }
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

const sweepers = new Map<number, Sweeper>();
function sweeper(ms: number): Sweeper {
  let s = sweepers.get(ms);
  if (!s) sweepers.set(ms, (s = new Sweeper(ms)));
  return s;
}
