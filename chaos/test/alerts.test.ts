import { describe, expect, it } from 'vitest';
import { alertTimes, foldAlerts } from '../src/alerts.js';
import type { AlertObservation } from '../src/record.js';

const alert = (name: string, state: string, severity = 'warning') => ({ labels: { alertname: name, severity }, state });

describe('alert watch', () => {
  it('keeps the first pending and first firing time of each alert, and its furthest state', () => {
    const seen = new Map<string, AlertObservation>();
    foldAlerts(seen, [alert('SessionStoreErrors', 'pending'), alert('Quiet', 'inactive')], 1_000);
    foldAlerts(seen, [alert('SessionStoreErrors', 'pending'), alert('RedisFailoverHappened', 'firing', 'info')], 2_000);
    foldAlerts(seen, [alert('SessionStoreErrors', 'firing')], 3_000);
    foldAlerts(seen, [], 4_000);
    expect(seen.get('SessionStoreErrors')).toEqual({ alert: 'SessionStoreErrors', severity: 'warning', state: 'firing', firstPendingAt: 1_000, firstFiringAt: 3_000 });
    expect(seen.get('RedisFailoverHappened')).toMatchObject({ state: 'firing', firstPendingAt: null, firstFiringAt: 2_000 });
    expect(seen.has('Quiet')).toBe(false);
  });

  it('states times relative to the first fault', () => {
    const alerts: AlertObservation[] = [
      { alert: 'A', severity: 'critical', state: 'pending', firstPendingAt: 11_250, firstFiringAt: null },
      { alert: 'B', severity: 'info', state: 'firing', firstPendingAt: null, firstFiringAt: 9_500 },
    ];
    const rows = alertTimes({ alerts, trials: [{ fault: { at: 10_000 } }] as never });
    expect(rows).toEqual([
      { alert: 'A', severity: 'critical', state: 'pending', pending: '+1.3 s', firing: '-' },
      { alert: 'B', severity: 'info', state: 'firing', pending: '-', firing: '-0.5 s' },
    ]);
  });
});
