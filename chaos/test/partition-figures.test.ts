/** The partition figures and the cut bands of the timeline, from made-up samples (pure functions). */
import { describe, expect, it } from 'vitest';
import { aggregate, computeFigures, partitionFigures, type Fault } from '../src/figures.js';
import type { Sample } from '../src/load.js';
import { timelineSvg, trialBands, trialMarkers } from '../src/report/html.js';
import { trial } from './report-fixtures.js';

const CUT = 10_000;
const HEAL = 16_000;
const fault: Fault = {
  kind: 'partition-primary',
  target: 'partition redis-primary+app-1',
  at: CUT,
  partition: {
    minority: ['redis-primary', 'app-1'],
    majority: ['replica-1', 'replica-2', 'sentinel-1', 'sentinel-2', 'sentinel-3', 'app-2', 'app-3'],
    minorityApps: ['app-1'],
    maxLagMs: 3_000,
    drops: {},
    cuts: [{ at: CUT, healAt: HEAL }],
    probe: { target: 'redis-primary', accepted: 40, lastAcceptedAt: CUT + 4_100, refused: 20, kept: 0 },
  },
};
const s = (t0: number, t1: number, op: Sample['op'], status: number, backend: string): Sample => ({
  t0,
  t1,
  op,
  status,
  ok: status === (op === 'logout' ? 204 : 200),
  user: 0,
  backend,
});

describe('partition figures', () => {
  const samples: Sample[] = [
    s(CUT - 500, CUT - 490, 'login', 200, 'app-1'), // before the cut: not the minority's
    s(CUT + 100, CUT + 600, 'login', 503, 'app-1'), // refused: WAIT cannot reach a replica
    s(CUT + 1_000, CUT + 1_010, 'logout', 204, 'app-1'), // acked on the minority side while cut
    s(CUT + 2_000, CUT + 2_900, 'me', 401, 'app-1'), // a majority session, unknown to the old primary
    s(CUT + 500, CUT + 800, 'login', 503, 'app-2'), // majority: fails until the failover
    s(CUT + 3_000, CUT + 3_020, 'login', 200, 'app-2'),
    s(HEAL + 300, HEAL + 310, 'me', 200, 'app-1'), // the minority app serves again
  ];

  it('counts what the minority side acknowledged and lost, and when each side worked again', () => {
    const p = partitionFigures(samples, fault, { ackedSessions: 3, lost: 0, revocations: 1, undone: 1, ambiguous: 0, damaged: [{ at: CUT + 1_010, backend: 'app-1' }] });
    expect(p).toEqual({
      partitionMs: 6_000,
      minorityWritesAccepted: 1,
      minorityWritesLost: 1,
      minorityAcceptMs: 1_010,
      minorityRefusedSessions: 1,
      minorityLatencyMaxMs: 900,
      minorityRecoveryMs: 310,
      rawWritesAccepted: 40,
      rawWritesLost: 40,
      rawAcceptMs: 4_100,
      majorityWriteRecoveryMs: 3_020,
    });
  });

  it('a write lost on the majority side is not the minority\'s, and other faults have no partition figures', () => {
    expect(partitionFigures(samples, fault, { ackedSessions: 3, lost: 1, revocations: 0, undone: 0, ambiguous: 0, damaged: [{ at: CUT + 3_020, backend: 'app-2' }] }).minorityWritesLost).toBe(0);
    const kill = computeFigures({ samples, events: [], fault: { kind: 'kill-primary', target: 'x', at: CUT } });
    expect(kill.partitionMs).toBeNull();
    expect(kill.rawWritesLost).toBeNull();
    // ... and the aggregate leaves the partition-only rows out for them.
    expect(aggregate([kill]).map((a) => a.figure)).not.toContain('rawWritesLost');
    expect(aggregate([computeFigures({ samples, events: [], fault })]).map((a) => a.figure)).toContain('rawWritesLost');
  });

  it('shades every cut of a flapping link on the timeline and names the cut-off side', () => {
    const t = trial(1, {}, [-1_000, 3_000], 300);
    t.fault = { ...fault, kind: 'partition-flapping', partition: { ...fault.partition!, cuts: [{ at: CUT, healAt: CUT + 400 }, { at: CUT + 800, healAt: CUT + 1_200 }] } };
    expect(trialBands(t)).toEqual([
      { from: 0, to: 400 },
      { from: 800, to: 1_200 },
    ]);
    expect(trialMarkers(t)[0]?.label).toBe('cut redis-primary+app-1');
    const svg = timelineSvg(t.buckets, trialMarkers(t), { bands: trialBands(t) });
    expect(svg.match(/class="partition"/g)).toHaveLength(2);
    expect(svg).toContain('seconds since the cut');
  });
});
