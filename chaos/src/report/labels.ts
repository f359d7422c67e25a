/**
 * Human names of the figures, shared by the HTML reports and the CLI summary, so neither ever
 * shows an internal key such as `detectionMs`.
 */
import type { Figures } from '../figures.js';

/** Every figure's label; `Record` so a new figure cannot be added without one. */
export const FIGURE_LABEL: Record<keyof Figures, string> = {
  detectionMs: 'failure detection (kill → +sdown)',
  odownMs: 'objective down (kill → +odown)',
  switchMs: 'Sentinel switch (kill → +switch-master)',
  writeRecoveryMs: 'write recovery (ok login after the last failure)',
  readRecoveryMs: 'read recovery (ok /auth/me after the last failure)',
  firstWriteOkMs: 'first ok login after a failure',
  firstReadOkMs: 'first ok /auth/me after a failure',
  failovers: 'failovers (distinct +switch-master)',
  firstFailureMs: 'first failed request (after the kill)',
  failedRequests: 'failed requests',
  failedLogins: 'failed logins',
  failedReads: 'failed /auth/me',
  failedReadsBeforeRollback: 'failed /auth/me before the rollback',
  failureWindow: 'failure window (first → last failure)',
  hungRequests: 'hung requests (> 3 s)',
  totalRequests: 'requests',
  successRate: 'success rate',
  latencyP50Ms: 'latency p50',
  latencyP99Ms: 'latency p99',
  latencyMaxMs: 'latency max',
  ackedSessions: 'acked sessions',
  ackedSessionsLost: 'acked sessions lost',
  revocations: 'acked revocations',
  revocationsUndone: 'acked revocations undone',
  ambiguous: 'ambiguous writes',
  rollbackMs: 'rollback (restart / heal) at',
  passwordChanges: 'acked password changes',
  passwordChangesUndone: 'acked password changes undone',
  partitionMs: 'partition (first cut → heal)',
  minorityWritesAccepted: 'writes acked by minority-side apps while cut',
  minorityWritesLost: 'of those, lost or undone',
  minorityAcceptMs: 'minority-side apps acked writes until (after the cut)',
  minorityRefusedSessions: 'valid sessions refused (401) by minority-side apps while cut',
  minorityLatencyMaxMs: 'minority-side apps: max latency while cut',
  minorityRecoveryMs: 'minority-side apps: heal → first ok answer',
  rawWritesAccepted: 'raw SETs the old primary accepted while cut (no WAIT)',
  rawWritesLost: 'of those, lost after the heal',
  rawAcceptMs: 'old primary accepted raw SETs until (after the cut)',
  majorityWriteRecoveryMs: 'majority side: write recovery (ok write after the last failed one)',
  failedRequestsHitShard: 'failed requests, users of the shard hit (cluster)',
  failedRequestsOtherShards: 'failed requests, users of the other shards (cluster)',
  requestsOtherShards: 'requests after the fault, users of the other shards (cluster)',
};

/** Figures whose value is a duration in ms (shown in seconds). */
export const isDurationFigure = (figure: keyof Figures): boolean => String(figure).endsWith('Ms');

/** Rough advance width of `text` in px at `fontSize`, on the wide side (DejaVu Sans is the widest common fallback of system-ui). */
export function textWidth(text: string, fontSize = 11): number {
  let em = 0;
  for (const c of text) {
    if (c === ' ') em += 0.33;
    else if ('.,:;|!il\'()[]'.includes(c)) em += 0.4;
    else if ('fjrt-'.includes(c)) em += 0.45;
    else if ('mwMW%@'.includes(c)) em += 1.0;
    else if (c >= 'A' && c <= 'Z') em += 0.75;
    else em += 0.64; // lower case, digits, + > / and anything else
  }
  return em * fontSize;
}
