import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { Limiter, PasswordHasher } from '../../src/users/password.js';
import { ProcessRunner } from '../../src/users/argon2-runner.js';
import { AppError } from '../../src/errors.js';

describe('PasswordHasher with the default configuration', () => {
  it('produces argon2id hashes with m=19456, t=2, p=1 and verifies them', async () => {
    const { argon2 } = loadConfig({});
    expect(argon2.runner).toBe('process');
    const hasher = new PasswordHasher(
      { memoryCost: argon2.memoryCost, timeCost: argon2.timeCost, parallelism: argon2.parallelism },
      { max: argon2.maxConcurrency, maxQueue: argon2.maxQueue },
      createMetrics({ defaultMetrics: false }),
      new ProcessRunner({ idle: argon2.schedIdle, nice: argon2.nice, threads: argon2.maxConcurrency }),
    );
    onTestFinished(() => hasher.close());
    const hash = await hasher.hash('correct horse battery staple');
    const m = /^\$argon2id\$v=19\$([^$]+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(hash);
    expect(m, hash).not.toBeNull();
    const params = Object.fromEntries(m![1]!.split(',').map((kv) => kv.split('=')));
    expect(params).toEqual({ m: '19456', t: '2', p: '1' });
    expect(await hasher.verify(hash, 'correct horse battery staple')).toEqual({ ok: true });
    expect(await hasher.verify(hash, 'correct horse battery stapler')).toEqual({ ok: false });
    // Unknown user: a dummy verify, always false.
    expect(await hasher.verify(undefined, 'correct horse battery staple')).toEqual({ ok: false });
  });
});

describe('Limiter', () => {
  it('runs at most `max` at once, queues `maxQueue`, and refuses the rest with BUSY', async () => {
    const queueSizes: number[] = [];
    const limiter = new Limiter(1, 1, (n) => queueSizes.push(n));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let running = 0;
    let peak = 0;
    const job = () =>
      limiter.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await gate;
        running--;
        return 'done';
      });
    const first = job();
    const second = job();
    const third = job();
    await expect(third).rejects.toBeInstanceOf(AppError);
    await expect(third).rejects.toMatchObject({ code: 'BUSY', retryAfter: 1 });
    expect(limiter.queued).toBe(1);
    release();
    expect(await Promise.all([first, second])).toEqual(['done', 'done']);
    expect(peak).toBe(1);
    expect(limiter.queued).toBe(0);
    expect(queueSizes.at(-1)).toBe(0);
    // Capacity is fully released: the next job runs at once.
    expect(await job()).toBe('done');
  });

  it('releases its slot when the job throws', async () => {
    const limiter = new Limiter(1, 0);
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(async () => 42)).toBe(42);
  });
});
