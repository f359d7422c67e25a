import type { Metrics } from './metrics.js';
import { StoreError } from '../errors.js';
import type { Backend, SessionStore } from '../sessions/types.js';
import { EmailTakenError, type UserRepository } from '../users/repository.js';
import type { LoginThrottle } from '../security/throttle.js';

/**
 * Latency and error metrics for every store a request touches (sessions, users, throttle), so
 * each backend is measured the same way and no implementation repeats the bookkeeping. An outage
 * shows in session_store_errors_total whichever of them hits it first.
 */
function timer(metrics: Metrics, backend: Backend) {
  return async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    const end = metrics.storeOp.startTimer({ op, backend });
    try {
      return await fn();
    } catch (err) {
      // A taken email is an answer, not a store failure.
      if (!(err instanceof EmailTakenError)) metrics.storeErrors.inc({ op, kind: err instanceof StoreError ? err.kind : 'other' });
      throw err;
    } finally {
      end();
    }
  };
}

export function instrumentStore(inner: SessionStore, metrics: Metrics): SessionStore {
  const timed = timer(metrics, inner.backend);
  return {
    backend: inner.backend,
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

export function instrumentUsers(inner: UserRepository, metrics: Metrics, backend: Backend): UserRepository {
  const timed = timer(metrics, backend);
  return {
    findByEmail: (email) => timed('user_get', () => inner.findByEmail(email)),
    findById: (id) => timed('user_get', () => inner.findById(id)),
    create: (email, hash) => timed('user_create', () => inner.create(email, hash)),
    updatePasswordHash: (id, hash) => timed('user_update', () => inner.updatePasswordHash(id, hash)),
    setPasswordHash: (id, hash) => timed('user_update', () => inner.setPasswordHash(id, hash)),
    delete: (user) => timed('user_delete', () => inner.delete(user)),
  };
}

export function instrumentThrottle(inner: LoginThrottle, metrics: Metrics, backend: Backend): LoginThrottle {
  const timed = timer(metrics, backend);
  return {
    check: (account, client) => timed('throttle', () => inner.check(account, client)),
    checkIp: (ip) => timed('throttle', () => inner.checkIp(ip)),
    refund: (account, client) => timed('throttle', () => inner.refund(account, client)),
    reset: (account, client) => timed('throttle', () => inner.reset(account, client)),
  };
}
