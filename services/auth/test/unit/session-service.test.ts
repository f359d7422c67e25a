import { describe, it, expect } from 'vitest';
import { CsrfTokens, newToken, sessionIdFromToken } from '../../src/sessions/token.js';
import { SessionService } from '../../src/sessions/service.js';
import { MemorySessionStore } from '../../src/sessions/memory-store.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createLogger } from '../../src/observability/logger.js';
import { StoreError } from '../../src/errors.js';
import type { SessionRecord } from '../../src/sessions/types.js';

describe('CsrfTokens', () => {
  const csrf = new CsrfTokens(['k1-0123456789-0123456789-0123456789', 'k0-0123456789-0123456789-0123456789']);
  const id = sessionIdFromToken(newToken());

  it('accepts its own token and one made with an older key', () => {
    expect(csrf.verify(id, csrf.issue(id))).toBe(true);
    const old = new CsrfTokens(['k0-0123456789-0123456789-0123456789']).issue(id);
    expect(csrf.verify(id, old)).toBe(true);
  });

  it('refuses, never throws on, malformed candidates (a throw here was a 500)', () => {
    const good = csrf.issue(id);
    for (const bad of [undefined, '', 'x', good.slice(0, 42), good + 'x', 'é'.repeat(43), '\u00ff'.repeat(43), 42]) {
      expect(() => csrf.verify(id, bad)).not.toThrow();
      expect(csrf.verify(id, bad)).toBe(false);
    }
  });
});

/** A real memory store whose write-back fails, as a Redis outage would make it. */
class FailingTouchStore extends MemorySessionStore {
  touches = 0;
  override async touch(): Promise<boolean> {
    this.touches++;
    throw new StoreError('touch', 'unavailable', 'touch: down');
  }
}

describe('SessionService.touchIfDue', () => {
  it('backs off for one interval after a failed write-back instead of retrying on every request', async () => {
    let now = 1_000_000;
    const store = new FailingTouchStore(() => now);
    const service = new SessionService(
      store,
      { idleTimeoutMs: 600_000, absoluteTimeoutMs: 3_600_000, touchIntervalMs: 60_000, maxPerUser: 10, reauthWindowMs: 300_000 },
      ['k-0123456789-0123456789-0123456789-01'],
      createMetrics({ defaultMetrics: false }),
      createLogger('silent'),
      () => now,
    );
    const record: SessionRecord = {
      userId: 'u',
      email: 'u@example.com',
      handle: 'h',
      createdAt: now,
      lastSeenAt: now,
      absoluteExpiresAt: now + 3_600_000,
      ip: '',
      userAgent: '',
    };
    const s = { token: 't', id: 'sid', record };
    now += 61_000;
    await service.touchIfDue(s);
    await service.touchIfDue(s);
    await service.touchIfDue(s);
    expect(store.touches).toBe(1);
    now += 61_000;
    await service.touchIfDue(s);
    expect(store.touches).toBe(2);
    await store.close();
  });
});
