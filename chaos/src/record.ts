/**
 * What one experiment run leaves behind: the JSON record the runner writes and the reports,
 * summaries and alert tables read. Its own module so those readers and the runner depend on the
 * data shape, not on each other.
 */
import type { Aggregate, Bucket, Check, Fault, Figures, TimelineEvent } from './figures.js';
import type { Sample } from './load.js';
import type { ExperimentName } from './experiments/catalog.js';

export interface AlertObservation {
  alert: string;
  severity: string;
  /** The furthest state it reached. */
  state: 'pending' | 'firing';
  firstPendingAt: number | null;
  firstFiringAt: number | null;
}

export interface Probe {
  name: string;
  tolerance: string;
  value: string;
  pass: boolean;
}

export interface Hypothesis {
  at: number;
  probes: Probe[];
  pass: boolean;
}

export interface TrialRecord {
  index: number;
  startAt: number;
  endAt: number;
  fault: Fault;
  rollbackAt: number | null;
  events: TimelineEvent[];
  figures: Figures;
  buckets: Bucket[];
  checks: Check[];
  pass: boolean;
  /** samples of this trial: index range into RunRecord.samples */
  samples: [number, number];
  /** every acknowledged write found lost or undone after this trial: what it was, when (ms from the fault) and which app replica acknowledged it */
  damage?: { kind: 'session lost' | 'revocation undone' | 'password change undone'; user: number; atMs: number; backend?: string | undefined }[];
  error?: string;
}

export interface RunRecord {
  experiment: ExperimentName;
  title: string;
  description: string;
  platform: string;
  topology: string;
  startedAt: string;
  durationMs: number;
  config: Record<string, unknown>;
  hypothesisBefore: Hypothesis;
  hypothesisAfter: Hypothesis | null;
  trials: TrialRecord[];
  aggregate: Aggregate[];
  verdict: 'pass' | 'fail';
  verdictReasons: string[];
  samples: Sample[];
  /** Alerts of the chart's rules that went pending or fired during the run (with a Prometheus). */
  alerts?: AlertObservation[];
}
