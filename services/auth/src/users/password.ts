import argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Argon2Params, Argon2Runner } from './argon2-runner.js';

export type { Argon2Params } from './argon2-runner.js';

/**
 * A counting semaphore with a bounded queue. argon2id at OWASP parameters costs ~20 MiB and tens
 * of ms of CPU per call; without a bound a login storm would starve session validation of CPU and
 * memory. Beyond the queue bound callers get a fast 503 instead of waiting.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(
    private readonly max: number,
    private readonly maxQueue: number,
    private readonly onQueueChange: (n: number) => void = () => {},
  ) {}

  /** `queueShare` caps how much of the queue this caller may wait in (1 = all of it). */
  async run<T>(fn: () => Promise<T>, queueShare = 1): Promise<T> {
    if (this.running >= this.max) {
      if (this.waiting.length >= Math.floor(this.maxQueue * queueShare)) throw new AppError('BUSY', { retryAfter: 1 });
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        this.onQueueChange(this.waiting.length);
      });
      this.onQueueChange(this.waiting.length);
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  get queued(): number {
    return this.waiting.length;
  }
}

export interface VerifyResult {
  readonly ok: boolean;
  /** Set when the stored hash used other parameters and should be replaced by this one. */
  readonly rehashed?: string;
}

export class PasswordHasher {
  private readonly limiter: Limiter;
  private dummy: Promise<string> | undefined;

  constructor(
    private readonly params: Argon2Params,
    concurrency: { max: number; maxQueue: number },
    private readonly metrics: Metrics,
    /** Public for operators and tests: ProcessRunner.pid is the hasher process. */
    readonly runner: Argon2Runner,
  ) {
    this.limiter = new Limiter(concurrency.max, concurrency.maxQueue, (n) => metrics.hashQueue.set(n));
  }

  /**
   * `background: true` (registration) may wait in a quarter of the queue only: hashes for new
   * accounts, however many clients send them, always leave room for logins.
   */
  hash(password: string, opts: { background?: boolean } = {}): Promise<string> {
    return this.limiter.run(async () => {
      const end = this.metrics.hashDuration.startTimer({ op: 'hash' });
      try {
        return await this.runner.hash(password, this.params);
      } finally {
        end();
      }
    }, opts.background ? 0.25 : 1);
  }

  /**
   * Verifies against `stored`, or against a dummy hash when the user does not exist, so unknown
   * emails and wrong passwords cost the same time.
   */
  async verify(stored: string | undefined, password: string): Promise<VerifyResult> {
    const target = stored ?? (await this.dummyHash());
    const ok = await this.limiter.run(async () => {
      const end = this.metrics.hashDuration.startTimer({ op: 'verify' });
      try {
        return await this.runner.verify(target, password);
      } finally {
        end();
      }
    });
    if (!ok || stored === undefined) return { ok: false };
    if (argon2.needsRehash(stored, { ...this.params })) {
      // A rehash is an upgrade, not part of the answer: when the hasher is saturated the login
      // still succeeds and the upgrade waits for the next one.
      const rehashed = await this.hash(password).catch(() => undefined);
      return rehashed ? { ok: true, rehashed } : { ok: true };
    }
    return { ok: true };
  }

  private dummyHash(): Promise<string> {
    if (!this.dummy) {
      const made = this.runner.hash(randomBytes(16).toString('hex'), this.params);
      // A failed hash (memory exhausted) must not stay cached: the next login tries again.
      made.catch(() => {
        if (this.dummy === made) this.dummy = undefined;
      });
      this.dummy = made;
    }
    return this.dummy;
  }

  /** Computes the dummy hash ahead of the first login so the first unknown-email login is not faster. */
  warmUp(): Promise<unknown> {
    return this.dummyHash();
  }

  close(): Promise<void> {
    return this.runner.close();
  }
}
