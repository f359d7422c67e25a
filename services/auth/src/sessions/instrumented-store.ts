import type { Metrics } from '../observability/metrics.js';
import { StoreError } from '../errors.js';
import type { SessionStore } from './types.js';

type Op = 'get' | 'create' | 'touch' | 'revoke' | 'list' | 'revoke_all' | 'ping';

/**
 * Wraps any SessionStore with latency and error metrics, so every backend is measured the same
 * way and no implementation repeats the bookkeeping.
 */
export function instrumentStore(inner: SessionStore, metrics: Metrics): SessionStore {
  const backend = inner.backend;
  const timed = async <T>(op: Op, fn: () => Promise<T>): Promise<T> => {
    const end = metrics.storeOp.startTimer({ op, backend });
    try {
      return await fn();
    } catch (err) {
      metrics.storeErrors.inc({ op, kind: err instanceof StoreError ? err.kind : 'other' });
      throw err;
    } finally {
      end();
    }
  };
  return {
    backend,
    guarantees: inner.guarantees,
    get: (id) => timed('get', () => inner.get(id)),
    create: (id, record, opts) => timed('create', () => inner.create(id, record, opts)),
    touch: (id, next, idle) => timed('touch', () => inner.touch(id, next, idle)),
    revoke: (id) => timed('revoke', () => inner.revoke(id)),
    listByUser: (userId) => timed('list', () => inner.listByUser(userId)),
    revokeAllForUser: (userId, exceptId) => timed('revoke_all', () => inner.revokeAllForUser(userId, exceptId)),
    ping: () => timed('ping', () => inner.ping()),
    close: () => inner.close(),
  };
}
