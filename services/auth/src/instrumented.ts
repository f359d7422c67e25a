import type { Metrics } from './observability/metrics.js';
import { storeTimer, type StoreBackend } from './observability/timed.js';
import type { SessionStore } from './sessions/types.js';
import { EmailTakenError, type UserRepository } from './users/repository.js';
import type { LoginThrottle } from './security/throttle.js';

/**
 * The collaborators deps.ts builds, each wrapped with the latency and error metrics of the backend
 * it really runs on: in replicated mode the sessions are `replicated` while users and the throttle
 * stay on the Redis of REDIS_URL (`redis`).
 */
export function instrumentStore(inner: SessionStore, metrics: Metrics): SessionStore {
  const timed = storeTimer(metrics, inner.backend);
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

export function instrumentUsers(inner: UserRepository, metrics: Metrics, backend: StoreBackend): UserRepository {
  // A taken email is an answer, not a store failure.
  const timed = storeTimer(metrics, backend, (err) => err instanceof EmailTakenError);
  return {
    findByEmail: (email) => timed('user_get', () => inner.findByEmail(email)),
    findById: (id) => timed('user_get', () => inner.findById(id)),
    create: (email, hash) => timed('user_create', () => inner.create(email, hash)),
    updatePasswordHash: (id, hash) => timed('user_update', () => inner.updatePasswordHash(id, hash)),
    setPasswordHash: (id, hash) => timed('user_update', () => inner.setPasswordHash(id, hash)),
    delete: (user) => timed('user_delete', () => inner.delete(user)),
  };
}

export function instrumentThrottle(inner: LoginThrottle, metrics: Metrics, backend: StoreBackend): LoginThrottle {
  const timed = storeTimer(metrics, backend);
  return {
    check: (account, client) => timed('throttle', () => inner.check(account, client)),
    checkIp: (ip) => timed('throttle', () => inner.checkIp(ip)),
    refund: (account, client) => timed('throttle', () => inner.refund(account, client)),
    reset: (account, client) => timed('throttle', () => inner.reset(account, client)),
  };
}
