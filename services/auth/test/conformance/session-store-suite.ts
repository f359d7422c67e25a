import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { SessionStore } from '../../src/sessions/types.js';
import { record } from '../support/records.js';

export interface StoreFixture {
  store: SessionStore;
  close(): Promise<void>;
  /**
   * Where a store places a user's sessions by their ids (cluster: the user's slot tag), how it
   * mints user ids and session ids; default: random ids of the usual shape.
   */
  newUserId?(): string;
  sessionIdFor?(userId: string): string;
}

const id = () => randomBytes(32).toString('base64url').slice(0, 43);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const OPTS = { idleTimeoutMs: 60_000, maxPerUser: 10 };

/**
 * The contract every SessionStore keeps, run against each implementation with real servers.
 * A new backend is done when this passes unchanged.
 */
export function sessionStoreConformance(name: string, make: () => Promise<StoreFixture>) {
  describe(`SessionStore conformance: ${name}`, () => {
    let fx: StoreFixture;
    let store: SessionStore;
    beforeAll(async () => {
      fx = await make();
      store = fx.store;
    });
    afterAll(async () => {
      await fx?.close();
    });
    const user = () => fx.newUserId?.() ?? `u-${id()}`;
    const idFor = (userId: string) => fx.sessionIdFor?.(userId) ?? id();

    it('returns null for an unknown id', async () => {
      expect(await store.get(id())).toBeNull();
    });

    it('stores and returns a record unchanged', async () => {
      const r = record(user());
      const sid = idFor(r.userId);
      await store.create(sid, r, OPTS);
      expect(await store.get(sid)).toEqual(r);
    });

    it('create is idempotent for the same record and refuses a different one', async () => {
      const r = record(user());
      const sid = idFor(r.userId);
      expect(await store.create(sid, r, OPTS)).toEqual({ evicted: 0 });
      expect(await store.create(sid, r, OPTS)).toEqual({ evicted: 0 });
      await expect(store.create(sid, record(r.userId), OPTS)).rejects.toThrow();
      expect(await store.listByUser(r.userId)).toHaveLength(1);
    });

    it('touch writes lastSeenAt back and never recreates a missing session', async () => {
      const r = record(user());
      const sid = idFor(r.userId);
      await store.create(sid, r, OPTS);
      expect(await store.touch(sid, { ...r, lastSeenAt: r.lastSeenAt + 5000 }, OPTS.idleTimeoutMs)).toBe(true);
      expect((await store.get(sid))?.lastSeenAt).toBe(r.lastSeenAt + 5000);
      const gone = id();
      expect(await store.touch(gone, r, OPTS.idleTimeoutMs)).toBe(false);
      expect(await store.get(gone)).toBeNull();
    });

    it('touch carries a re-authentication (authenticatedAt) into the stored record', async () => {
      const r = record(user());
      const sid = idFor(r.userId);
      await store.create(sid, r, OPTS);
      expect((await store.get(sid))?.authenticatedAt ?? r.createdAt).toBe(r.createdAt);
      const proved = { ...r, lastSeenAt: r.lastSeenAt + 7000, authenticatedAt: r.createdAt + 7000 };
      expect(await store.touch(sid, proved, OPTS.idleTimeoutMs)).toBe(true);
      expect(await store.get(sid)).toEqual(proved);
      // A later plain touch ("last seen") keeps it.
      expect(await store.touch(sid, { ...proved, lastSeenAt: proved.lastSeenAt + 1000 }, OPTS.idleTimeoutMs)).toBe(true);
      expect((await store.get(sid))?.authenticatedAt).toBe(proved.authenticatedAt);
    });

    it('revoke_all for a password change leaves only the kept session, and is idempotent', async () => {
      const u = user();
      const keep = idFor(u);
      const others = [idFor(u), idFor(u)];
      await store.create(keep, record(u, Date.now()), OPTS);
      for (const [i, sid] of others.entries()) await store.create(sid, record(u, Date.now() + 1 + i), OPTS);
      expect(await store.revokeAllForUser(u, keep)).toBe(2);
      expect(await store.revokeAllForUser(u, keep)).toBe(0);
      for (const sid of others) expect(await store.get(sid)).toBeNull();
      expect((await store.listByUser(u)).map((s) => s.id)).toEqual([keep]);
    });

    it('revoke is idempotent, and a touch after a revoke does not bring the session back', async () => {
      const r = record(user());
      const sid = idFor(r.userId);
      await store.create(sid, r, OPTS);
      expect(await store.revoke(sid)).toBe(true);
      expect(await store.revoke(sid)).toBe(false);
      expect(await store.touch(sid, r, OPTS.idleTimeoutMs)).toBe(false);
      expect(await store.get(sid)).toBeNull();
      expect(await store.listByUser(r.userId)).toEqual([]);
    });

    it('lists a user’s sessions oldest first, and only that user’s', async () => {
      const u = user();
      const other = user();
      const t = Date.now();
      const ids = [idFor(u), idFor(u), idFor(u)];
      await store.create(ids[1]!, record(u, t + 1), OPTS);
      await store.create(ids[0]!, record(u, t), OPTS);
      await store.create(ids[2]!, record(u, t + 2), OPTS);
      await store.create(idFor(other), record(other, t), OPTS);
      const list = await store.listByUser(u);
      expect(list.map((s) => s.id)).toEqual(ids);
      expect(list.every((s) => s.record.userId === u)).toBe(true);
    });

    it('evicts the oldest sessions beyond the per-user limit, atomically with the create', async () => {
      const u = user();
      const t = Date.now();
      const ids = [idFor(u), idFor(u), idFor(u)];
      expect(await store.create(ids[0]!, record(u, t), { ...OPTS, maxPerUser: 2 })).toEqual({ evicted: 0 });
      expect(await store.create(ids[1]!, record(u, t + 1), { ...OPTS, maxPerUser: 2 })).toEqual({ evicted: 0 });
      expect(await store.create(ids[2]!, record(u, t + 2), { ...OPTS, maxPerUser: 2 })).toEqual({ evicted: 1 });
      expect(await store.get(ids[0]!)).toBeNull();
      expect((await store.listByUser(u)).map((s) => s.id)).toEqual([ids[1], ids[2]]);
    });

    it('never evicts the session it is creating, even when it is not the newest', async () => {
      const u = user();
      const t = Date.now();
      const [a, b, c] = [idFor(u), idFor(u), idFor(u)];
      // Same millisecond, then an earlier clock (another app replica's): the new one survives.
      expect(await store.create(a, record(u, t), { ...OPTS, maxPerUser: 1 })).toEqual({ evicted: 0 });
      expect(await store.create(b, record(u, t), { ...OPTS, maxPerUser: 1 })).toEqual({ evicted: 1 });
      expect(await store.get(b)).not.toBeNull();
      expect(await store.create(c, record(u, t - 5_000), { ...OPTS, maxPerUser: 1 })).toEqual({ evicted: 1 });
      expect(await store.get(c)).not.toBeNull();
      expect(await store.get(b)).toBeNull();
      expect((await store.listByUser(u)).map((s) => s.id)).toEqual([c]);
    });

    it('revokes all of a user’s sessions, optionally keeping one', async () => {
      const u = user();
      const ids = [idFor(u), idFor(u), idFor(u)];
      for (const [i, sid] of ids.entries()) await store.create(sid, record(u, Date.now() + i), OPTS);
      expect(await store.revokeAllForUser(u, ids[1])).toBe(2);
      expect((await store.listByUser(u)).map((s) => s.id)).toEqual([ids[1]]);
      expect(await store.revokeAllForUser(u)).toBe(1);
      expect(await store.revokeAllForUser(u)).toBe(0);
      for (const sid of ids) expect(await store.get(sid)).toBeNull();
    });

    it('forgets a session once its idle TTL passes', async () => {
      const r = record(user());
      const sid = idFor(r.userId);
      await store.create(sid, r, { ...OPTS, idleTimeoutMs: 300 });
      expect(await store.get(sid)).not.toBeNull();
      await sleep(700);
      expect(await store.get(sid)).toBeNull();
    });

    it('never keeps a session past its absolute expiry, whatever the idle timeout', async () => {
      const u = user();
      const sid = idFor(u);
      const now = Date.now();
      await store.create(sid, record(u, now, { absoluteExpiresAt: now + 300 }), OPTS);
      await sleep(700);
      expect(await store.get(sid)).toBeNull();
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
