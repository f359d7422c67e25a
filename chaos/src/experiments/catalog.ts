/**
 * The experiments, Chaos Toolkit shaped: a steady-state hypothesis (runner.ts) checked before and
 * after, a method (inject), observation under steady load, a rollback (rollbackDelayMs after the
 * fault, while the load keeps running), and experiment-specific expectations for the verdict.
 */
import type { Check, Fault, Figures } from '../figures.js';
import { fmtMs } from '../figures.js';
import type { Platform } from '../platforms/platform.js';
import type { Client, SimUser } from '../load.js';

export type TopologyKind = 'standalone' | 'sentinel' | 'replicated';
export type ExperimentName = Fault['kind'];

/**
 * Bound on write/read recovery after a failover. Medians measured on this 2-core box: 2.5-2.9 s
 * locally, 3.6 s (forced) and 2.6 s (graceful) on Kubernetes. About one local run in five reached
 * 5.1 s when the old primary, restarted 3 s after the kill, full-resynced from the new one while
 * the load ran (the fork and transfer starve a login of CPU), hence 6 s.
 */
export const RECOVERY_TOLERANCE_MS = 6_000;
/** Failures tolerated when the fault should be invisible to users (replica, sentinel, app replica). */
export const INVISIBLE_FAULT_MAX_FAILURE_RATE = 0.01;

export interface Experiment {
  name: ExperimentName;
  title: string;
  description: string;
  topologies: TopologyKind[];
  /**
   * A step right before the method, under the same load (kill-primary: a password change, so the
   * ledger holds revocations acknowledged just before the fault). Its check joins the trial's.
   */
  beforeInject?(client: Client, user: SimUser): Promise<Check>;
  inject(p: Platform): Promise<Fault>;
  /** After the fault, when the rollback runs (null: no rollback step). */
  rollbackDelayMs(topology: TopologyKind): number | null;
  /** Observation under load after the fault (the runner also waits for health before ending a trial). */
  observeMs(topology: TopologyKind): number;
  /** `toleranceMs`: the platform's recovery bound (RECOVERY_TOLERANCE_MS unless it sets one). */
  expectations(topology: TopologyKind, f: Figures, toleranceMs: number): Check[];
}

const check = (name: string, expected: string, actual: string, pass: boolean): Check => ({ name, expected, actual, pass });

function noDamage(f: Figures): Check[] {
  return [
    check('acknowledged sessions lost', '0', String(f.ackedSessionsLost), f.ackedSessionsLost === 0),
    check('acknowledged revocations undone', '0', String(f.revocationsUndone), f.revocationsUndone === 0),
    check('hung requests (> 3 s)', '0', String(f.hungRequests), f.hungRequests === 0),
  ];
}

function recoversWithin(f: Figures, ms = RECOVERY_TOLERANCE_MS): Check[] {
  return [
    check('write recovery (kill -> ok login after the last failed one)', `<= ${fmtMs(ms)}`, fmtMs(f.writeRecoveryMs), f.writeRecoveryMs !== null && f.writeRecoveryMs <= ms),
    check('read recovery (kill -> ok /auth/me after the last failed one)', `<= ${fmtMs(ms)}`, fmtMs(f.readRecoveryMs), f.readRecoveryMs !== null && f.readRecoveryMs <= ms),
  ];
}

function invisible(f: Figures, toleranceMs: number): Check[] {
  const rate = f.totalRequests ? f.failedRequests / f.totalRequests : 0;
  return [
    check('failed requests', `<= ${(INVISIBLE_FAULT_MAX_FAILURE_RATE * 100).toFixed(0)} % of requests`, `${f.failedRequests} (${(rate * 100).toFixed(2)} %)`, rate <= INVISIBLE_FAULT_MAX_FAILURE_RATE),
    ...recoversWithin(f, toleranceMs),
    ...noDamage(f),
  ];
}

export const experiments: Record<ExperimentName, Experiment> = {
  'kill-primary': {
    name: 'kill-primary',
    title: 'kill -9 the Redis primary',
    description:
      'SIGKILL the node Sentinel names as primary (standalone: the only redis-server). Standalone is a single point of failure: ' +
      'no login and no validation until Redis is restarted (the rollback, after a fixed outage, with AOF on). Sentinel promotes a replica; ' +
      'the apps follow it and serve reads from a replica meanwhile; the rollback restarts the old node, which rejoins as a replica.',
    topologies: ['standalone', 'sentinel', 'replicated'],
    // A password change acknowledged right before the kill: its revocations (the user's other
    // sessions, the token rotated out) are in the ledger, so "revocations undone" covers them.
    async beforeInject(client, user) {
      const r = await client.passwordChange(user, 2);
      return check('password change acknowledged right before the kill', '200, 2 other sessions revoked', `${r.status}, ${r.revoked} revoked`, r.status === 200 && r.revoked === 2);
    },
    inject: (p) => p.killPrimary(),
    rollbackDelayMs: (t) => (t === 'sentinel' ? 4_000 : 5_000),
    observeMs: (t) => (t === 'sentinel' ? 8_000 : 9_000),
    expectations(t, f, tol) {
      if (t === 'replicated') {
        // The replicated design's promise: validation needs no network hop, so it survives the
        // store's loss; writes (logins, revocations) still need the change stream.
        const restart = f.rollbackMs ?? Number.POSITIVE_INFINITY;
        return [
          check('validations keep working while Redis is down', '0 failed /auth/me before the restart', String(f.failedReadsBeforeRollback), f.failedReadsBeforeRollback === 0),
          // Not a pass/fail line: sessions created right after the restart are refused by replicas
          // whose stream reader is still catching up; the figure is reported, not hidden.
          check('reads refused after the restart while replicas catch up (informational)', 'reported', String(f.failedReads - f.failedReadsBeforeRollback), true),
          check('logins fail while Redis is down (writes need the stream)', '> 0 failed logins', String(f.failedLogins), f.failedLogins > 0),
          check('writes recover after the restart', `<= restart + ${fmtMs(tol)}`, fmtMs(f.writeRecoveryMs), f.writeRecoveryMs !== null && f.writeRecoveryMs <= restart + tol),
          ...noDamage(f),
        ];
      }
      if (t === 'standalone') {
        const restart = f.rollbackMs ?? Number.POSITIVE_INFINITY;
        return [
          check('logins fail while Redis is down (SPOF)', '> 0 failed logins', String(f.failedLogins), f.failedLogins > 0),
          check('no login succeeds before the restart', `first ok login >= restart at ${fmtMs(f.rollbackMs)}`, fmtMs(f.firstWriteOkMs), f.firstWriteOkMs !== null && f.firstWriteOkMs >= restart),
          check('writes recover after the restart', `<= restart + ${fmtMs(tol)}`, fmtMs(f.writeRecoveryMs), f.writeRecoveryMs !== null && f.writeRecoveryMs <= restart + tol),
          ...noDamage(f),
        ];
      }
      return [
        check('Sentinel switched the primary', '+switch-master seen', fmtMs(f.switchMs), f.switchMs !== null),
        check('one clean failover', '1 distinct +switch-master', String(f.failovers), f.failovers === 1),
        ...recoversWithin(f, tol),
        ...noDamage(f),
      ];
    },
  },
  'kill-replica': {
    name: 'kill-replica',
    title: 'kill -9 one Redis replica',
    description: 'SIGKILL one of the two replicas. The primary still has a replica for min-replicas-to-write and WAIT 1; users should not notice. Rollback restarts it.',
    topologies: ['sentinel'],
    inject: (p) => p.killReplica(),
    rollbackDelayMs: () => 4_000,
    observeMs: () => 6_000,
    expectations: (_t, f, tol) => invisible(f, tol),
  },
  'kill-sentinel': {
    name: 'kill-sentinel',
    title: 'kill -9 one of three sentinels',
    description: 'SIGKILL one sentinel. Two of three remain, still a majority; the apps ask the remaining ones. Users should not notice. Rollback restarts it.',
    topologies: ['sentinel'],
    inject: (p) => p.killSentinel(),
    rollbackDelayMs: () => 4_000,
    observeMs: () => 6_000,
    expectations: (_t, f, tol) => invisible(f, tol),
  },
  'kill-app-replica': {
    name: 'kill-app-replica',
    title: 'kill -9 one app replica',
    description:
      'SIGKILL one auth service process. The ingress routes around it (passive: retry on connection error; active: /readyz every 500 ms). ' +
      'Sessions survive because the store is shared. Rollback restarts it.',
    topologies: ['standalone', 'sentinel', 'replicated'],
    inject: (p) => p.killAppReplica(),
    rollbackDelayMs: () => 4_000,
    observeMs: () => 6_000,
    expectations: (_t, f, tol) => invisible(f, tol),
  },
  'restart-primary-empty': {
    name: 'restart-primary-empty',
    title: 'kill the primary and restart it at once with an empty data dir',
    description:
      'SIGKILL the primary and start it again immediately, same port, no data, before down-after-milliseconds (1000 ms) elapses: a lost disk ' +
      'with a fast restart. Sentinel may never mark it down, so no failover happens; the replicas resynchronise from the empty primary. ' +
      'min-replicas-to-write does not help: the empty primary has replicas again within a second. Expectation stated as the hypothesis (no acked session lost); the run reports what really happened.',
    topologies: ['sentinel'],
    inject: (p) => p.restartPrimaryEmpty(),
    rollbackDelayMs: () => null,
    observeMs: () => 6_000,
    expectations: (_t, f, tol) => [...recoversWithin(f, tol), ...noDamage(f)],
  },
  'restart-primary-empty-guarded': {
    name: 'restart-primary-empty-guarded',
    title: 'the same lost disk, restarted by the rule of the chart\'s init step',
    description:
      'SIGKILL the primary; the node has no data and the sentinels still name it primary with replicas known, so (as ' +
      'charts/session-auth/files/scripts/redis-init.sh decides) it is held back until the sentinels elect a new primary, then ' +
      'starts empty as that primary\'s replica. What the configuration does about the hazard: an ordinary failover, nothing lost.',
    topologies: ['sentinel'],
    inject: (p) => p.restartPrimaryEmpty(true),
    rollbackDelayMs: () => null,
    observeMs: () => 6_000,
    expectations: (_t, f, tol) => [...recoversWithin(f, tol), ...noDamage(f)],
  },
};

export const experimentNames = Object.keys(experiments) as ExperimentName[];

export function getExperiment(name: string): Experiment {
  const e = (experiments as Record<string, Experiment | undefined>)[name];
  if (!e) throw new Error(`unknown experiment "${name}"; one of: ${experimentNames.join(', ')}`);
  return e;
}
