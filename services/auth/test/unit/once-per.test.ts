import { afterEach, describe, expect, it, vi } from 'vitest';
import { oncePer } from '../../src/observability/logger.js';

describe('oncePer (error-log rate limit)', () => {
  afterEach(() => vi.useRealTimers());
  it('opens once, stays shut for the interval, opens again after it', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const gate = oncePer(1000);
    expect(gate()).toBe(true);
    expect(gate()).toBe(false);
    vi.advanceTimersByTime(999);
    expect(gate()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(gate()).toBe(true);
    expect(gate()).toBe(false);
  });
});
