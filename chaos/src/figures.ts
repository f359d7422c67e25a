/**
 * Pure functions from what was recorded (request samples, Sentinel events, the fault) to the
 * figures every run reports, the 100 ms buckets of the timeline, and the checks of the verdict.
 */
import type { Sample } from './load.js';
import { median, quantile } from './util.js';

export interface TimelineEvent {
  at: number;
  source: string;
  channel: string;
  message: string;
}

export type FaultKind =
  | 'kill-primary'
  | 'kill-replica'
  | 'kill-sentinel'
  | 'kill-app-replica'
  | 'restart-primary-empty'
  | 'restart-primary-empty-guarded'
  | 'reshard'
  | PartitionKind;

export type PartitionKind = 'partition-primary' | 'partition-asymmetric' | 'partition-sentinels' | 'partition-flapping' | 'partition-app';

export const isPartition = (kind: FaultKind): kind is PartitionKind => kind.startsWith('partition-');

/** A partition as it happened (netns platform): who was cut from whom, and when. */
export interface PartitionInfo {
  /** process names on the cut-off side, and on the other */
  minority: string[];
  majority: string[];
  /** the app replicas whose writes are the minority side's (they still reach the old primary, or no store at all) */
  minorityApps: string[];
  /** min-replicas-max-lag of the data nodes (ms): the bound on what an isolated primary accepts */
  maxLagMs: number;
  /** sender -> receivers whose packets were dropped while cut */
  drops: Record<string, string[]>;
  /** every cut (epoch ms); healAt null while cut */
  cuts: { at: number; healAt: number | null }[];
  /**
   * A raw client on the old primary's side (the harness, never cut): SET every 100 ms while cut,
   * no WAIT. What the old primary accepted, when it stopped, and how much of it the majority kept.
   */
  probe?: { target: string; accepted: number; lastAcceptedAt: number | null; refused: number; lastError?: string; kept: number | null };
}

export interface Fault {
  kind: FaultKind;
  /** process / pod that was killed */
  target: string;
  /** epoch ms of the kill */
  at: number;
  detail?: string;
  /** Cluster: the slot ranges of the shard hit (kill: the killed primary's; reshard: the slots moved). */
  slots?: [number, number][];
  partition?: PartitionInfo;
}

export interface Figures {
  /** kill -> first +sdown of the killed role (ms), null when no Sentinel saw it */
  detectionMs: number | null;
  odownMs: number | null;
  switchMs: number | null;
  /**
   * kill -> end of the first successful login after the LAST failed one: from then on writes
   * worked (0: no login failed; null: never recovered within the observation).
   */
  writeRecoveryMs: number | null;
  readRecoveryMs: number | null;
  /** kill -> first successful login after the first failed one (writes may fail again later). */
  firstWriteOkMs: number | null;
  firstReadOkMs: number | null;
  /** distinct +switch-master announcements after the kill (1 = one clean failover) */
  failovers: number;
  /** kill -> first failed request as the users saw it */
  firstFailureMs: number | null;
  failedRequests: number;
  failedLogins: number;
  failedReads: number;
  /** Failed /auth/me between the fault and the rollback (the outage itself), as opposed to after it. */
  failedReadsBeforeRollback: number;
  failureWindow: { fromMs: number; toMs: number } | null;
  hungRequests: number;
  totalRequests: number;
  successRate: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencyMaxMs: number | null;
  ackedSessions: number;
  ackedSessionsLost: number;
  revocations: number;
  revocationsUndone: number;
  ambiguous: number;
  /** when the rollback (restart) ran, relative to the kill */
  rollbackMs: number | null;
  /** acknowledged password changes verified after the trial (null: none made) */
  passwordChanges: number | null;
  passwordChangesUndone: number | null;
  // Partitions (null on other faults), relative to the first cut.
  /** first cut -> last heal */
  partitionMs: number | null;
  /** ok writes (login, logout, password change) answered by a minority-side app replica while cut */
  minorityWritesAccepted: number | null;
  /** of those: sessions lost, revocations undone, password changes undone */
  minorityWritesLost: number | null;
  /** cut -> the last write the minority-side apps acknowledged while cut (0: none) */
  minorityAcceptMs: number | null;
  /** valid sessions the minority-side apps refused while cut (401 on /auth/me: they read the old primary, which lacks the majority's new sessions) */
  minorityRefusedSessions: number | null;
  /** max latency of the minority-side apps' answers while cut (fail fast, not hang) */
  minorityLatencyMaxMs: number | null;
  /** heal -> first ok answer of a minority-side app replica */
  minorityRecoveryMs: number | null;
  /** the raw probe on the old primary: SETs accepted while cut, of them lost, cut -> last accepted */
  rawWritesAccepted: number | null;
  rawWritesLost: number | null;
  rawAcceptMs: number | null;
  /** cut -> ok write (login, logout, password change) after the last failed one, through the majority side's app replicas */
  majorityWriteRecoveryMs: number | null;
  /** Cluster: failed requests of users whose slot is in the fault's slots, and of everyone else (null elsewhere). */
  failedRequestsHitShard?: number | null;
  failedRequestsOtherShards?: number | null;
  /** Cluster: every request after the fault of the users on the other shards (the base of their failure rate). */
  requestsOtherShards?: number | null;
}

export interface Bucket {
  /** ms relative to the kill, bucket start */
  t: number;
  ok: number;
  failed: number;
  hung: number;
  p50: number | null;
  max: number | null;
}

export interface Check {
  name: string;
  expected: string;
  actual: string;
  pass: boolean;
}

/** Which Sentinel message names the killed role ("+sdown master mymaster 127.0.0.1 6379"). */
function roleOf(kind: FaultKind): 'master' | 'slave' | 'sentinel' | undefined {
  if (kind === 'partition-app') return undefined;
  if (isPartition(kind)) return 'master';
  if (kind === 'kill-primary' || kind === 'restart-primary-empty' || kind === 'restart-primary-empty-guarded') return 'master';
  if (kind === 'kill-replica') return 'slave';
  if (kind === 'kill-sentinel') return 'sentinel';
  return undefined;
}

export function firstEvent(events: TimelineEvent[], channel: string, since: number, role?: string): TimelineEvent | undefined {
  return events
    .filter((e) => e.channel === channel && e.at >= since && (role === undefined || e.message.startsWith(`${role} `)))
    .sort((a, b) => a.at - b.at)[0];
}

/** kill -> first success after the first (which: 'first') or the last ('last') failure of these ops. */
export function recovery(samples: Sample[], killAt: number, ops: Sample['op'][], which: 'first' | 'last'): number | null {
  const relevant = samples.filter((s) => ops.includes(s.op) && s.t1 >= killAt).sort((a, b) => a.t1 - b.t1);
  const failures = relevant.filter((s) => !s.ok);
  const fail = which === 'first' ? failures[0] : failures[failures.length - 1];
  if (!fail) return 0;
  const ok = relevant.find((s) => s.ok && s.t0 >= fail.t0 && s.t1 > fail.t1);
  return ok ? ok.t1 - killAt : null;
}

/** What the ledger checks found, with enough of each entry to tell the sides of a partition apart. */
export interface Verified {
  ackedSessions: number;
  lost: number;
  revocations: number;
  undone: number;
  ambiguous: number;
  /** acked (login / revocation / password change) at, by: of every lost / undone write */
  damaged?: { at: number; backend?: string | undefined }[];
  passwords?: { changes: number; undone: number };
}

const WRITE_OPS: Sample['op'][] = ['login', 'logout', 'password'];

/** The partition figures (all null for other faults). */
export function partitionFigures(samples: Sample[], fault: Fault, v: Verified | undefined): Pick<
  Figures,
  | 'partitionMs'
  | 'minorityWritesAccepted'
  | 'minorityWritesLost'
  | 'minorityAcceptMs'
  | 'minorityRefusedSessions'
  | 'minorityLatencyMaxMs'
  | 'minorityRecoveryMs'
  | 'rawWritesAccepted'
  | 'rawWritesLost'
  | 'rawAcceptMs'
  | 'majorityWriteRecoveryMs'
> {
  const p = fault.partition;
  if (!p || p.cuts.length === 0) {
    return {
      partitionMs: null,
      minorityWritesAccepted: null,
      minorityWritesLost: null,
      minorityAcceptMs: null,
      minorityRefusedSessions: null,
      minorityLatencyMaxMs: null,
      minorityRecoveryMs: null,
      rawWritesAccepted: null,
      rawWritesLost: null,
      rawAcceptMs: null,
      majorityWriteRecoveryMs: null,
    };
  }
  const cutAt = p.cuts[0]!.at;
  const healAt = p.cuts[p.cuts.length - 1]!.healAt ?? Number.POSITIVE_INFINITY;
  const whileCut = (t: number): boolean => p.cuts.some((c) => t >= c.at && t <= (c.healAt ?? Number.POSITIVE_INFINITY));
  const minority = new Set(p.minorityApps);
  const onMinority = (s: Sample): boolean => s.backend !== undefined && minority.has(s.backend);
  const minorityCut = samples.filter((s) => onMinority(s) && whileCut(s.t1));
  const accepted = minorityCut.filter((s) => s.ok && WRITE_OPS.includes(s.op));
  const lost = (v?.damaged ?? []).filter((d) => d.backend !== undefined && minority.has(d.backend) && whileCut(d.at)).length;
  const firstOkAfterHeal = samples.filter((s) => onMinority(s) && s.ok && s.t0 >= healAt).sort((a, b) => a.t1 - b.t1)[0];
  const majoritySamples = samples.filter((s) => !onMinority(s));
  const latencies = minorityCut.filter((s) => s.status !== 0).map((s) => s.t1 - s.t0);
  return {
    partitionMs: Number.isFinite(healAt) ? healAt - cutAt : null,
    minorityWritesAccepted: accepted.length,
    minorityWritesLost: lost,
    minorityAcceptMs: accepted.length ? Math.max(...accepted.map((s) => s.t1)) - cutAt : 0,
    minorityRefusedSessions: minorityCut.filter((x) => x.op === 'me' && x.status === 401).length,
    minorityLatencyMaxMs: latencies.length ? Math.max(...latencies) : null,
    minorityRecoveryMs: minority.size === 0 ? null : firstOkAfterHeal ? firstOkAfterHeal.t1 - healAt : null,
    rawWritesAccepted: p.probe ? p.probe.accepted : null,
    rawWritesLost: p.probe && p.probe.kept !== null ? p.probe.accepted - p.probe.kept : null,
    rawAcceptMs: p.probe ? (p.probe.lastAcceptedAt === null ? 0 : p.probe.lastAcceptedAt - cutAt) : null,
    majorityWriteRecoveryMs: recovery(majoritySamples.length ? majoritySamples : samples, cutAt, WRITE_OPS, 'last'),
  };
}

export function computeFigures(input: {
  samples: Sample[];
  events: TimelineEvent[];
  fault: Fault;
  rollbackAt?: number | null;
  /** Cluster: indices of the users whose data lives in the fault's slots. */
  hitUsers?: ReadonlySet<number>;
  verify?: Verified;
}): Figures {
  const { samples, events, fault } = input;
  const killAt = fault.at;
  const role = roleOf(fault.kind);
  const at = (e: TimelineEvent | undefined): number | null => (e ? e.at - killAt : null);
  const failed = samples.filter((s) => !s.ok && s.t1 >= killAt).sort((a, b) => a.t1 - b.t1);
  const lat = samples.filter((s) => s.status > 0).map((s) => s.t1 - s.t0);
  const first = failed[0];
  const last = failed[failed.length - 1];
  const v = input.verify ?? { ackedSessions: 0, lost: 0, revocations: 0, undone: 0, ambiguous: 0 };
  return {
    detectionMs: role ? at(firstEvent(events, '+sdown', killAt, role)) : null,
    odownMs: role === 'master' ? at(firstEvent(events, '+odown', killAt, 'master')) : null,
    switchMs: at(firstEvent(events, '+switch-master', killAt)),
    writeRecoveryMs: recovery(samples, killAt, ['login'], 'last'),
    readRecoveryMs: recovery(samples, killAt, ['me'], 'last'),
    firstWriteOkMs: recovery(samples, killAt, ['login'], 'first'),
    firstReadOkMs: recovery(samples, killAt, ['me'], 'first'),
    failovers: new Set(events.filter((e) => e.channel === '+switch-master' && e.at >= killAt).map((e) => e.message)).size,
    firstFailureMs: first ? first.t1 - killAt : null,
    failedRequests: failed.length,
    failedLogins: failed.filter((s) => s.op === 'login').length,
    failedReads: failed.filter((s) => s.op === 'me').length,
    failedReadsBeforeRollback: failed.filter((s) => s.op === 'me' && (input.rollbackAt == null || s.t1 < input.rollbackAt)).length,
    failureWindow: first && last ? { fromMs: first.t1 - killAt, toMs: last.t1 - killAt } : null,
    hungRequests: samples.filter((s) => s.status === -1).length,
    totalRequests: samples.length,
    successRate: samples.length ? samples.filter((s) => s.ok).length / samples.length : 1,
    latencyP50Ms: quantile(lat, 0.5),
    latencyP99Ms: quantile(lat, 0.99),
    latencyMaxMs: lat.length ? Math.max(...lat) : null,
    ackedSessions: v.ackedSessions,
    ackedSessionsLost: v.lost,
    revocations: v.revocations,
    revocationsUndone: v.undone,
    ambiguous: v.ambiguous,
    rollbackMs: input.rollbackAt ? input.rollbackAt - killAt : null,
    passwordChanges: input.verify?.passwords ? input.verify.passwords.changes : null,
    passwordChangesUndone: input.verify?.passwords ? input.verify.passwords.undone : null,
    ...partitionFigures(samples, fault, input.verify),
    ...(input.hitUsers
      ? {
          failedRequestsHitShard: failed.filter((s) => input.hitUsers!.has(s.user)).length,
          failedRequestsOtherShards: failed.filter((s) => !input.hitUsers!.has(s.user)).length,
          requestsOtherShards: samples.filter((s) => s.t1 >= killAt && !input.hitUsers!.has(s.user)).length,
        }
      : {}),
  };
}

/** Per-100 ms buckets of the samples (by end time) relative to the kill. */
export function bucketize(samples: Sample[], killAt: number, bucketMs = 100): Bucket[] {
  if (samples.length === 0) return [];
  const rel = (t: number): number => Math.floor((t - killAt) / bucketMs) * bucketMs;
  const from = Math.min(...samples.map((s) => rel(s.t1)));
  const to = Math.max(...samples.map((s) => rel(s.t1)));
  const map = new Map<number, { ok: number; failed: number; hung: number; lat: number[] }>();
  for (let t = from; t <= to; t += bucketMs) map.set(t, { ok: 0, failed: 0, hung: 0, lat: [] });
  for (const s of samples) {
    const b = map.get(rel(s.t1));
    if (!b) continue;
    if (s.ok) b.ok += 1;
    else b.failed += 1;
    if (s.status === -1) b.hung += 1;
    b.lat.push(s.t1 - s.t0);
  }
  return [...map].map(([t, b]) => ({ t, ok: b.ok, failed: b.failed, hung: b.hung, p50: median(b.lat), max: b.lat.length ? Math.max(...b.lat) : null }));
}

export interface Aggregate {
  figure: keyof Figures;
  median: number | null;
  worst: number | null;
  values: (number | null)[];
}

/** Figures only partitions have: left out of the aggregate when no trial has them. */
const PARTITION_AGGREGATED: (keyof Figures)[] = [
  'passwordChangesUndone',
  'minorityWritesAccepted',
  'minorityWritesLost',
  'minorityAcceptMs',
  'minorityRefusedSessions',
  'minorityLatencyMaxMs',
  'minorityRecoveryMs',
  'rawWritesAccepted',
  'rawWritesLost',
  'rawAcceptMs',
  'majorityWriteRecoveryMs',
];
const PARTITION_ONLY = new Set(PARTITION_AGGREGATED);

const LOWER_IS_BETTER: (keyof Figures)[] = [
  'detectionMs',
  'odownMs',
  'switchMs',
  'writeRecoveryMs',
  'readRecoveryMs',
  'firstWriteOkMs',
  'failovers',
  'failedRequests',
  'hungRequests',
  'ackedSessionsLost',
  'revocationsUndone',
  'latencyP99Ms',
  'latencyMaxMs',
  ...PARTITION_AGGREGATED,
];

/** Median and worst of each numeric figure over trials (null = never happened/recovered is the worst). */
export function aggregate(trials: Figures[]): Aggregate[] {
  const present = LOWER_IS_BETTER.filter((figure) => !PARTITION_ONLY.has(figure) || trials.some((f) => f[figure] !== null));
  // The per-shard split exists only for a cluster's trials.
  const sharded = trials.some((f) => typeof f.failedRequestsOtherShards === 'number');
  const figures: (keyof Figures)[] = sharded ? [...present, 'failedRequestsHitShard', 'failedRequestsOtherShards'] : present;
  return figures.map((figure) => {
    const values = trials.map((f) => f[figure] as number | null);
    const nums = values.filter((x): x is number => typeof x === 'number');
    const worst = figure.endsWith('RecoveryMs') && values.some((x) => x === null) ? null : nums.length ? Math.max(...nums) : null;
    return { figure, median: median(nums), worst, values };
  });
}

export const fmtMs = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : `${(v / 1000).toFixed(2)} s`);
