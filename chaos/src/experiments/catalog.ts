/**
 * The experiments, Chaos Toolkit shaped: a steady-state hypothesis (runner.ts) checked before and
 * after, a method (inject), observation under steady load, a rollback (rollbackDelayMs after the
 * fault, while the load keeps running), and experiment-specific expectations for the verdict.
 */
import type { Check, Fault, Figures } from '../figures.js';
import { fmtMs } from '../figures.js';
import type { Platform } from '../platforms/platform.js';
import type { Client, SimUser } from '../load.js';

export type TopologyKind = 'standalone' | 'sentinel' | 'cluster' | 'replicated';
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
  /** `userSlots`: the cluster slots of the load's users (cluster only; empty elsewhere). */
  inject(p: Platform, userSlots: readonly number[]): Promise<Fault>;
  /** After the fault, when the rollback runs (null: no rollback step). */
  rollbackDelayMs(topology: TopologyKind): number | null;
  /** Observation under load after the fault (the runner also waits for health before ending a trial). */
  observeMs(topology: TopologyKind): number;
  /** `toleranceMs`: the platform's recovery bound (RECOVERY_TOLERANCE_MS unless it sets one). */
  expectations(topology: TopologyKind, f: Figures, toleranceMs: number, fault: Fault): Check[];
  /** Password changes under the load too (fresh users each trial), verified after it. */
  passwordLoad?: boolean;
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

function otherShardsInvisible(f: Figures): Check {
  const failed = f.failedRequestsOtherShards ?? 0;
  const rate = f.requestsOtherShards ? failed / f.requestsOtherShards : 0;
  return check(
    'failed requests of users on the other shards',
    `<= ${(INVISIBLE_FAULT_MAX_FAILURE_RATE * 100).toFixed(0)} % of their requests`,
    `${failed} of ${f.requestsOtherShards ?? 0} (${(rate * 100).toFixed(2)} %)`,
    f.failedRequestsOtherShards != null && rate <= INVISIBLE_FAULT_MAX_FAILURE_RATE,
  );
}

function invisible(f: Figures, toleranceMs: number): Check[] {
  const rate = f.totalRequests ? f.failedRequests / f.totalRequests : 0;
  return [
    check('failed requests', `<= ${(INVISIBLE_FAULT_MAX_FAILURE_RATE * 100).toFixed(0)} % of requests`, `${f.failedRequests} (${(rate * 100).toFixed(2)} %)`, rate <= INVISIBLE_FAULT_MAX_FAILURE_RATE),
    ...recoversWithin(f, toleranceMs),
    ...noDamage(f),
  ];
}

/** How long a partition lasts (the rollback heals it): longer than the netns platform's min-replicas-max-lag (3 s). */
export const PARTITION_MS = 6_000;
/** Observation from the cut: the heal, the old primary's rejoin, and some load after. */
const PARTITION_OBSERVE_MS = 11_000;

/** What no partition may do to acknowledged writes, and no request may do at all. */
function partitionSafety(f: Figures): Check[] {
  return [
    check('acknowledged sessions lost', '0', String(f.ackedSessionsLost), f.ackedSessionsLost === 0),
    check('acknowledged revocations undone', '0', String(f.revocationsUndone), f.revocationsUndone === 0),
    check('acknowledged password changes undone', '0', `${f.passwordChangesUndone ?? 'n/a'} of ${f.passwordChanges ?? 0}`, (f.passwordChangesUndone ?? 0) === 0),
    check('writes acked on the minority side, then lost', '0', `${f.minorityWritesLost ?? 'n/a'} of ${f.minorityWritesAccepted ?? 'n/a'}`, (f.minorityWritesLost ?? 0) === 0),
    check('hung requests (> 3 s)', '0', String(f.hungRequests), f.hungRequests === 0),
  ];
}

/**
 * min-replicas-max-lag bounds the raw writes an isolated primary accepts. Redis counts the lag in
 * whole seconds since a replica's last ack (sent every second) and refreshes the count of good
 * replicas once a second, so the refusal comes up to ~3 s after max-lag.
 */
function rawWritesBounded(f: Figures, fault: Fault): Check {
  const bound = (fault.partition?.maxLagMs ?? 10_000) + 3_000;
  return check('old primary refuses raw writes within min-replicas-max-lag', `<= ${fmtMs(bound)} after the cut`, fmtMs(f.rawAcceptMs), f.rawAcceptMs !== null && f.rawAcceptMs <= bound);
}

function majorityRecovers(f: Figures, withinMs: number, from = 'the cut'): Check {
  return check(`majority side: writes back (ok write after the last failed one) after ${from}`, `<= ${fmtMs(withinMs)}`, fmtMs(f.majorityWriteRecoveryMs), f.majorityWriteRecoveryMs !== null && f.majorityWriteRecoveryMs <= withinMs);
}

type PartitionName = Extract<ExperimentName, `partition-${string}`>;

/** Every partition: sentinel only, password changes under the load, healed after PARTITION_MS. */
function partitionExperiment(
  name: PartitionName,
  e: Pick<Experiment, 'title' | 'description' | 'expectations'> & { passwordChangeBefore?: boolean },
): Experiment {
  return {
    name,
    title: e.title,
    description: e.description,
    topologies: ['sentinel'],
    passwordLoad: true,
    ...(e.passwordChangeBefore === false ? {} : { beforeInject: passwordChangeBeforeFault }),
    inject: (p) => p.partition(name),
    rollbackDelayMs: () => PARTITION_MS,
    observeMs: () => PARTITION_OBSERVE_MS,
    expectations: e.expectations,
  };
}

/** The old primary on the cut-off side: the majority must fail over and write again. */
const failsOver: Experiment['expectations'] = (_t, f, tol, fault) => [
  check('Sentinel switched the primary (majority side)', '+switch-master seen', fmtMs(f.switchMs), f.switchMs !== null),
  majorityRecovers(f, tol),
  rawWritesBounded(f, fault),
  ...partitionSafety(f),
];

async function passwordChangeBeforeFault(client: Client, user: SimUser): Promise<Check> {
  const r = await client.passwordChange(user, 2);
  return check('password change acknowledged right before the fault', '200, 2 other sessions revoked', `${r.status}, ${r.revoked} revoked`, r.status === 200 && r.revoked === 2);
}

const partitionExperiments: Record<PartitionName, Experiment> = {
  'partition-primary': partitionExperiment('partition-primary', {
    title: 'partition: the primary and one app replica cut off from the rest',
    description:
      'Real partition (netns platform): the Redis primary and app-1 on one side; both replicas, all three sentinels, app-2 and app-3 on the other. ' +
      'The majority elects a new primary; app-1 keeps writing to the old one, which accepts raw writes until min-replicas-max-lag, ' +
      "but the service's durable writes WAIT for replicas it cannot reach and are refused (503), never acknowledged. Healed after 6 s: the old primary rejoins as a replica and drops what it accepted.",
    expectations: failsOver,
  }),
  'partition-sentinels': partitionExperiment('partition-sentinels', {
    title: 'partition: the sentinels split 1 / 2, the primary on the side of the lone sentinel',
    description:
      'Real partition: sentinel-1 stays with the primary and app-1; sentinel-2 and -3 are with both replicas, app-2 and app-3. ' +
      'The two sentinels are a majority and fail over; sentinel-1 alone cannot (quorum 2), and keeps naming the old primary to app-1. Healed after 6 s.',
    expectations: failsOver,
  }),
  'partition-asymmetric': partitionExperiment('partition-asymmetric', {
    title: 'asymmetric partition: the replicas stop hearing the primary',
    description:
      'Packets from the primary to both replicas are dropped; every other direction flows. The sentinels still reach the primary, so no failover starts; ' +
      'durable writes cannot get a replica to confirm. The replicas keep sending, but their connection gets no answers, so their acks soon stall too ' +
      'and min-replicas-max-lag stops plain writes as well. Healed after 6 s.',
    expectations: (_t, f, tol) => [
      check('writes refused while the replicas cannot confirm (informational)', 'reported', `${f.failedLogins} failed logins`, true),
      majorityRecovers(f, PARTITION_MS + tol, 'the cut (heal at 6 s)'),
      ...partitionSafety(f),
    ],
  }),
  'partition-flapping': partitionExperiment('partition-flapping', {
    title: 'flapping link: the primary cut off and healed every 400 ms for 6 s',
    description:
      'The partition of partition-primary (the primary and app-1 against the rest), cut for 400 ms and healed for 400 ms in turn for 6 s. ' +
      'Each cut is shorter than down-after-milliseconds (1.5 s), so Sentinel may or may not fail over; whatever it does, nothing acknowledged may be lost.',
    expectations: (_t, f, tol) => [majorityRecovers(f, PARTITION_MS + tol, 'the first cut (flapping until 6 s)'), ...partitionSafety(f)],
  }),
  'partition-app': partitionExperiment('partition-app', {
    title: 'partition: one app replica cut off from Redis',
    description:
      'app-1 loses every Redis node and sentinel (the ingress still reaches it). It must answer fast (503, its store deadline), not hang; ' +
      'its /readyz turns 503 and the ingress routes around it; after the heal (6 s) it serves again.',
    passwordChangeBefore: false,
    expectations: (_t, f, tol) => [
      check('the cut-off app fails fast', 'max latency while cut <= 1.50 s', fmtMs(f.minorityLatencyMaxMs), f.minorityLatencyMaxMs !== null && f.minorityLatencyMaxMs <= 1_500),
      check('the cut-off app serves again after the heal', `<= ${fmtMs(tol)}`, fmtMs(f.minorityRecoveryMs), f.minorityRecoveryMs !== null && f.minorityRecoveryMs <= tol),
      majorityRecovers(f, tol),
      ...partitionSafety(f),
    ],
  }),
};

export const experiments: Record<ExperimentName, Experiment> = {
  'kill-primary': {
    name: 'kill-primary',
    title: 'kill -9 the Redis primary',
    description:
      'SIGKILL the node Sentinel names as primary (standalone: the only redis-server). Standalone is a single point of failure: ' +
      'no login and no validation until Redis is restarted (the rollback, after a fixed outage, with AOF on). Sentinel promotes a replica; ' +
      'the apps follow it and serve reads from a replica meanwhile; the rollback restarts the old node, which rejoins as a replica.',
    topologies: ['standalone', 'sentinel', 'cluster', 'replicated'],
    // A password change acknowledged right before the kill: its revocations (the user's other
    // sessions, the token rotated out) are in the ledger, so "revocations undone" covers them.
    beforeInject: passwordChangeBeforeFault,
    inject: (p) => p.killPrimary(),
    rollbackDelayMs: (t) => (t === 'sentinel' || t === 'cluster' ? 4_000 : 5_000),
    observeMs: (t) => (t === 'sentinel' || t === 'cluster' ? 8_000 : 9_000),
    expectations(t, f, tol) {
      if (t === 'cluster') {
        // One shard of several: its replica is promoted; the other shards never notice. With one
        // replica per shard the promoted primary has none until the old one is back (the rollback),
        // so that shard's durable writes (WAIT 1) are refused with a 503 until then.
        const restart = f.rollbackMs ?? Number.POSITIVE_INFINITY;
        return [
          check('the shard\'s replica was promoted', 'promotion seen', fmtMs(f.switchMs), f.switchMs !== null),
          check('one promotion', '1', String(f.failovers), f.failovers === 1),
          // The fault must be invisible to them, held to the bound of the other invisible faults
          // (1 %): a lone request timed out by a CPU-starved app (seen on a loaded 2-core node,
          // every shard's successful requests slowed alike at the same moment) is not taken for a
          // coupling between shards, and a real one is still caught (logins counting their IP on
          // the dead shard failed 93 times in one trial: docs/cluster.md).
          otherShardsInvisible(f),
          check('read recovery (kill -> ok /auth/me after the last failed one)', `<= ${fmtMs(tol)}`, fmtMs(f.readRecoveryMs), f.readRecoveryMs !== null && f.readRecoveryMs <= tol),
          check('writes recover once the old primary is back as a replica', `<= restart + ${fmtMs(tol)}`, fmtMs(f.writeRecoveryMs), f.writeRecoveryMs !== null && f.writeRecoveryMs <= restart + tol),
          ...noDamage(f),
        ];
      }
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
      'SIGKILL the primary and start it again immediately, same port, no data, before down-after-milliseconds (1500 ms) elapses: a lost disk ' +
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
  reshard: {
    name: 'reshard',
    title: 'live resharding: move slots between shards under load',
    description:
      'Moves the slots of the load\'s users on the first shard and its lowest 256 others to the second, key by key with MIGRATE (the way redis-cli --cluster reshard does), ' +
      'while the load runs. Requests for a slot in flight get ASK, for a moved one MOVED; the client follows both, durable writes retry on ' +
      'their own connection. Nothing should fail.',
    topologies: ['cluster'],
    inject: (p, userSlots) => {
      if (!p.reshard) throw new Error('this platform cannot reshard');
      return p.reshard(userSlots);
    },
    rollbackDelayMs: () => null,
    observeMs: () => 3_000,
    expectations: (_t, f) => [
      check('failed requests', '0', String(f.failedRequests), f.failedRequests === 0),
      check('failed requests of users on the moved slots', '0', String(f.failedRequestsHitShard), f.failedRequestsHitShard === 0),
      ...noDamage(f),
    ],
  },
  ...partitionExperiments,
};

export const experimentNames = Object.keys(experiments) as ExperimentName[];

export function getExperiment(name: string): Experiment {
  const e = (experiments as Record<string, Experiment | undefined>)[name];
  if (!e) throw new Error(`unknown experiment "${name}"; one of: ${experimentNames.join(', ')}`);
  return e;
}
