import { describe, expect, it } from 'vitest';
import { aggregate, bucketize, computeFigures, type Figures } from '../src/figures.js';
import { applySetCookies, type Sample } from '../src/load.js';

const s = (op: Sample['op'], t0: number, t1: number, ok: boolean, status = ok ? 200 : 503): Sample => ({ op, t0, t1, ok, status, user: 0 });

describe('computeFigures on a cluster', () => {
  it('splits failed requests into the hit shard\'s users and everyone else, and aggregates the split', () => {
    const u = (user: number, ok: boolean): Sample => ({ op: 'me', t0: 10_100, t1: 10_200, ok, status: ok ? 200 : 503, user });
    const samples = [u(1, false), u(1, false), u(2, true), u(3, false)];
    const f = computeFigures({ samples, events: [], fault: { kind: 'kill-primary', target: 'p', at: 10_000, slots: [[0, 5460]] }, hitUsers: new Set([1]) });
    expect(f.failedRequestsHitShard).toBe(2);
    expect(f.failedRequestsOtherShards).toBe(1);
    expect(f.requestsOtherShards).toBe(2);
    const rows = aggregate([f, f]).map((a) => a.figure);
    expect(rows).toContain('failedRequestsOtherShards');
    // Elsewhere the split is absent, and so are its rows.
    const plain = computeFigures({ samples, events: [], fault: { kind: 'kill-primary', target: 'p', at: 10_000 } });
    expect(plain.failedRequestsOtherShards).toBeUndefined();
    expect(aggregate([plain]).map((a) => a.figure)).not.toContain('failedRequestsOtherShards');
  });
});

describe('computeFigures', () => {
  const kill = 10_000;
  const samples: Sample[] = [
    s('me', 9_900, 9_950, true),
    s('login', 9_990, 10_050, true), // in flight at the kill: not a recovery
    s('me', 10_100, 10_200, false),
    s('login', 10_300, 10_400, false),
    s('me', 10_500, 13_500, false, -1), // hung
    s('me', 12_000, 12_100, true),
    s('login', 12_500, 12_600, true),
  ];
  const events = [
    { at: 11_000, source: 's1', channel: '+sdown', message: 'master mymaster 127.0.0.1 1' },
    { at: 10_900, source: 's1', channel: '+sdown', message: 'slave 127.0.0.1:2 127.0.0.1 2 @ mymaster 127.0.0.1 1' },
    { at: 11_200, source: 's2', channel: '+odown', message: 'master mymaster 127.0.0.1 1 #quorum 2/2' },
    { at: 12_300, source: 's2', channel: '+switch-master', message: 'mymaster 127.0.0.1 1 127.0.0.1 3' },
  ];
  const f = computeFigures({ samples, events, fault: { kind: 'kill-primary', target: 'p', at: kill }, rollbackAt: 14_000, verify: { ackedSessions: 5, lost: 1, revocations: 2, undone: 0, ambiguous: 1 } });
  it('times detection, odown and switch from the events of the killed role', () => {
    expect(f.detectionMs).toBe(1_000);
    expect(f.odownMs).toBe(1_200);
    expect(f.switchMs).toBe(2_300);
  });
  it('measures first success after the first failure, and recovery after the last failure', () => {
    expect(f.firstWriteOkMs).toBe(2_600);
    expect(f.writeRecoveryMs).toBe(2_600);
    expect(f.firstReadOkMs).toBe(2_100);
    // the hung /auth/me ended at +3.5 s and no read succeeded after it: reads never became stable
    expect(f.readRecoveryMs).toBeNull();
    expect(f.failovers).toBe(1);
  });
  it('counts failures, their window and hung requests', () => {
    expect(f.failedRequests).toBe(3);
    expect(f.failedLogins).toBe(1);
    expect(f.failureWindow).toEqual({ fromMs: 200, toMs: 3_500 });
    expect(f.hungRequests).toBe(1);
    expect(f.ackedSessionsLost).toBe(1);
    expect(f.rollbackMs).toBe(4_000);
  });
  it('reports 0 recovery when nothing failed, null when nothing recovered', () => {
    const ok = computeFigures({ samples: [s('me', 10_100, 10_200, true)], events: [], fault: { kind: 'kill-app-replica', target: 'a', at: kill } });
    expect(ok.readRecoveryMs).toBe(0);
    expect(ok.detectionMs).toBeNull();
    const never = computeFigures({ samples: [s('login', 10_100, 10_200, false)], events: [], fault: { kind: 'kill-primary', target: 'a', at: kill } });
    expect(never.writeRecoveryMs).toBeNull();
  });
  it('buckets per 100 ms relative to the kill and aggregates median/worst', () => {
    const b = bucketize(samples, kill);
    expect(b[0]?.t).toBe(-100);
    expect(b.reduce((n, x) => n + x.ok + x.failed, 0)).toBe(samples.length);
    const agg = aggregate([f, { ...f, writeRecoveryMs: 1_000 }, { ...f, writeRecoveryMs: null } as Figures]);
    const w = agg.find((a) => a.figure === 'writeRecoveryMs');
    expect(w?.median).toBe(1_800);
    expect(w?.worst).toBeNull(); // a trial that never recovered is the worst
  });
});

describe('cookie jar', () => {
  it('stores, replaces and deletes cookies', () => {
    const jar = new Map<string, string>();
    applySetCookies(jar, ['sid=abc; path=/; httponly; samesite=lax', 'sid.sig=xyz; path=/']);
    expect([...jar]).toEqual([['sid', 'abc'], ['sid.sig', 'xyz']]);
    applySetCookies(jar, ['sid=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT', 'sid.sig=q; max-age=0']);
    expect(jar.size).toBe(0);
  });
});
