/**
 * Which Prometheus alerts an experiment set off. Polls /api/v1/alerts while the experiment runs
 * and keeps, per alert, the first time it was pending and the first time it fired: most rules
 * have a `for:` longer than a short experiment, so "pending" is the honest answer to "would it
 * have paged" for them, and only rules without one (RedisFailoverHappened) fire within seconds.
 */
import type { AlertObservation, RunRecord } from './record.js';
import { sleep } from './util.js';

interface ApiAlert {
  labels: Record<string, string>;
  state: string;
}

export interface AlertWatch {
  stop(): Promise<AlertObservation[]>;
}

/** Folds one /api/v1/alerts answer into what has been seen so far (pure; tested). */
export function foldAlerts(seen: Map<string, AlertObservation>, alerts: ApiAlert[], at: number): void {
  for (const a of alerts) {
    const name = a.labels.alertname;
    if (!name || (a.state !== 'pending' && a.state !== 'firing')) continue;
    const o = seen.get(name) ?? { alert: name, severity: a.labels.severity ?? '', state: 'pending', firstPendingAt: null, firstFiringAt: null };
    if (a.state === 'pending') o.firstPendingAt ??= at;
    if (a.state === 'firing') {
      o.firstFiringAt ??= at;
      o.state = 'firing';
    }
    seen.set(name, o);
  }
}

export function watchAlerts(prometheusUrl: string, intervalMs = 1_000): AlertWatch {
  const seen = new Map<string, AlertObservation>();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const r = await fetch(`${prometheusUrl}/api/v1/alerts`, { signal: AbortSignal.timeout(2_000) });
        const body = (await r.json()) as { data?: { alerts?: ApiAlert[] } };
        foldAlerts(seen, body.data?.alerts ?? [], Date.now());
      } catch {
        // A missed poll only delays what we see by one interval.
      }
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...seen.values()].sort((a, b) => (a.firstPendingAt ?? a.firstFiringAt ?? 0) - (b.firstPendingAt ?? b.firstFiringAt ?? 0));
    },
  };
}

/** When each alert went pending / fired, relative to the run's first fault, as "+1.2 s". */
export function alertTimes(record: Pick<RunRecord, 'alerts' | 'trials'>): { alert: string; severity: string; state: string; pending: string; firing: string }[] {
  const t0 = record.trials[0]?.fault.at;
  const rel = (at: number | null): string =>
    at === null ? '-' : t0 === undefined ? new Date(at).toISOString() : `${at >= t0 ? '+' : '-'}${(Math.abs(at - t0) / 1000).toFixed(1)} s`;
  return (record.alerts ?? []).map((a) => ({ alert: a.alert, severity: a.severity, state: a.state, pending: rel(a.firstPendingAt), firing: rel(a.firstFiringAt) }));
}
