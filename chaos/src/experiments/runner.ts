/**
 * Runs one experiment on a platform: users -> steady state (before) -> per trial: load, method,
 * observation, rollback, health, verification -> steady state (after) -> verdict -> reports.
 */
import { Client, makeUsers, startLoad, verifyLedger, type Sample, type SimUser } from '../load.js';
import { aggregate, bucketize, computeFigures, type Aggregate, type Bucket, type Check, type Fault, type Figures, type TimelineEvent } from '../figures.js';
import type { Platform } from '../platforms/platform.js';
import { watchAlerts, type AlertObservation, type AlertWatch } from '../alerts.js';
import { quietLogger, sleep, type Logger } from '../util.js';
import { getExperiment, RECOVERY_TOLERANCE_MS, type ExperimentName } from './catalog.js';

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

export interface RunOptions {
  platform: Platform;
  experiment: ExperimentName;
  trials?: number;
  users?: number;
  warmupMs?: number;
  /** Override the experiment's observation window after the fault. */
  observeMs?: number;
  /** Override the experiment's rollback delay (e.g. the standalone outage). */
  rollbackDelayMs?: number;
  healthyTimeoutMs?: number;
  /** A Prometheus that scrapes the app replicas with the chart's alert rules: record its alerts. */
  prometheusUrl?: string;
  log?: Logger;
}

const VALIDATION_WINDOW_MS = 2_000;
const VALIDATION_MIN_RATE = 0.99;

/** The steady-state hypothesis: readiness via the ingress, login works, >= 99 % validations succeed over 2 s. */
export async function steadyState(baseUrl: string, probeUsers: SimUser[], headers: Readonly<Record<string, string>> = {}): Promise<Hypothesis> {
  const client = new Client(baseUrl, headers);
  const probes: Probe[] = [];
  const ready = await client.request('me', undefined, 'GET', '/readyz');
  probes.push({ name: 'GET /readyz via the ingress', tolerance: '200', value: String(ready.status), pass: ready.status === 200 });
  const [first] = probeUsers;
  let loginOk = false;
  if (first) {
    first.cookies.clear();
    first.sessionId = undefined;
    loginOk = (await client.login(first)) && (await client.me(first)) === 200;
  }
  probes.push({ name: 'login + GET /auth/me', tolerance: '200, 200', value: loginOk ? '200, 200' : 'failed', pass: loginOk });
  for (const u of probeUsers.slice(1)) if (u.sessionId === undefined) await client.login(u);
  const loggedIn = probeUsers.filter((u) => u.sessionId !== undefined);
  const until = Date.now() + VALIDATION_WINDOW_MS;
  const start = client.samples.length;
  await Promise.all(
    loggedIn.map(async (u) => {
      while (Date.now() < until) {
        const st = await client.request('me', u, 'GET', '/auth/me');
        if (st.status !== 200) await sleep(20);
      }
    }),
  );
  const window = client.samples.slice(start);
  const rate = window.length ? window.filter((s) => s.ok).length / window.length : 0;
  probes.push({
    name: `validation success rate over ${VALIDATION_WINDOW_MS / 1000} s`,
    tolerance: `>= ${VALIDATION_MIN_RATE * 100} %`,
    value: `${(rate * 100).toFixed(2)} % of ${window.length}`,
    pass: window.length > 0 && rate >= VALIDATION_MIN_RATE,
  });
  return { at: Date.now(), probes, pass: probes.every((p) => p.pass) };
}

async function registerAll(client: Client, users: SimUser[], concurrency = 4): Promise<void> {
  const queue = [...users];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let u = queue.shift(); u; u = queue.shift()) await client.register(u);
    }),
  );
}

export async function runExperiment(opts: RunOptions): Promise<RunRecord> {
  const log = opts.log ?? quietLogger;
  const { platform } = opts;
  const exp = getExperiment(opts.experiment);
  const topology = platform.topology;
  if (!exp.topologies.includes(topology)) throw new Error(`${exp.name} needs topology ${exp.topologies.join(' or ')}, not ${topology}`);
  const trials = opts.trials ?? 1;
  const warmupMs = opts.warmupMs ?? 2_000;
  const observeMs = opts.observeMs ?? exp.observeMs(topology);
  const rollbackDelayMs = opts.rollbackDelayMs ?? exp.rollbackDelayMs(topology);
  const healthyTimeoutMs = opts.healthyTimeoutMs ?? platform.healthyTimeoutMs ?? 30_000;
  const started = Date.now();

  const client = new Client(platform.baseUrl, platform.requestHeaders);
  const users = makeUsers(opts.users ?? 16);
  const probeUsers = makeUsers(4);
  // Its own user, outside the load: the load's users hold one session each (see load.ts).
  const changer: SimUser = { ...makeUsers(1)[0]!, index: users.length + probeUsers.length };
  log(`${exp.name} on ${platform.name}/${topology}: registering ${users.length + probeUsers.length + 1} users`);
  client.record = false;
  await registerAll(client, [...users, ...probeUsers, changer]);
  client.record = true;

  const recorder = await platform.startEvents();
  const record: RunRecord = {
    experiment: exp.name,
    title: exp.title,
    description: exp.description,
    platform: platform.name,
    topology,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    config: { trials, warmupMs, observeMs, rollbackDelayMs, users: users.length, requestTimeoutMs: 3_000, platform: platform.describe() },
    hypothesisBefore: await steadyState(platform.baseUrl, probeUsers, platform.requestHeaders),
    hypothesisAfter: null,
    trials: [],
    aggregate: [],
    verdict: 'fail',
    verdictReasons: [],
    samples: client.samples,
  };
  log(`steady state before: ${record.hypothesisBefore.pass ? 'met' : 'NOT met'}`);

  const alertWatch: AlertWatch | undefined = opts.prometheusUrl ? watchAlerts(opts.prometheusUrl) : undefined;
  try {
    if (record.hypothesisBefore.pass) {
      const bad = new Set<number>();
      for (let i = 0; i < trials; i += 1) {
        const startAt = Date.now();
        const firstSample = client.samples.length;
        const load = startLoad(client, users);
        let fault: Fault | undefined;
        let rollbackAt: number | null = null;
        let error: string | undefined;
        let before: Check | undefined;
        try {
          await sleep(warmupMs);
          if (exp.beforeInject) {
            before = await exp.beforeInject(client, changer);
            log(`trial ${i + 1}/${trials}: ${before.name}: ${before.actual}`);
          }
          fault = await exp.inject(platform);
          log(`trial ${i + 1}/${trials}: ${fault.kind} -> ${fault.target}${fault.detail ? ` (${fault.detail})` : ''}`);
          if (rollbackDelayMs !== null) {
            await sleep(Math.max(0, fault.at + rollbackDelayMs - Date.now()));
            rollbackAt = Date.now();
            await platform.rollback(fault);
            log(`trial ${i + 1}: rollback done after ${Date.now() - fault.at} ms`);
          }
          await sleep(Math.max(0, fault.at + observeMs - Date.now()));
          await platform.waitHealthy(healthyTimeoutMs);
        } catch (err) {
          error = (err as Error).message;
          log(`trial ${i + 1}: ${error}`);
        } finally {
          await load.stop();
        }
        const endAt = Date.now();
        fault ??= { kind: exp.name, target: 'n/a (injection failed)', at: endAt };
        const verified = await verifyLedger(client, { skip: bad });
        for (const id of [...verified.lost, ...verified.undone]) bad.add(id);
        const samples = client.samples.slice(firstSample);
        const events = recorder.all().filter((e) => e.at >= startAt && e.at <= endAt);
        const figures = computeFigures({
          samples,
          events,
          fault,
          rollbackAt,
          verify: { ackedSessions: verified.ackedSessions, lost: verified.lost.length, revocations: verified.revocations, undone: verified.undone.length, ambiguous: verified.ambiguous },
        });
        const checks = exp.expectations(topology, figures, platform.recoveryToleranceMs ?? RECOVERY_TOLERANCE_MS);
        if (before) checks.unshift(before);
        if (error) checks.unshift({ name: 'method/rollback/health completed', expected: 'no error', actual: error, pass: false });
        record.trials.push({
          index: i + 1,
          startAt,
          endAt,
          fault,
          rollbackAt,
          events,
          figures,
          buckets: bucketize(samples, fault.at),
          checks,
          pass: checks.every((c) => c.pass),
          samples: [firstSample, client.samples.length],
          ...(error ? { error } : {}),
        });
        if (error) break;
      }
      record.hypothesisAfter = await steadyState(platform.baseUrl, probeUsers, platform.requestHeaders);
      log(`steady state after: ${record.hypothesisAfter.pass ? 'met' : 'NOT met'}`);
    }
  } finally {
    await recorder.close();
    if (alertWatch) record.alerts = await alertWatch.stop();
  }

  const reasons: string[] = [];
  if (!record.hypothesisBefore.pass) reasons.push('steady state not met before the method: experiment not run');
  if (record.hypothesisAfter && !record.hypothesisAfter.pass) reasons.push('steady state not met after the rollback');
  for (const t of record.trials) for (const c of t.checks) if (!c.pass) reasons.push(`trial ${t.index}: ${c.name}: expected ${c.expected}, got ${c.actual}`);
  record.aggregate = aggregate(record.trials.map((t) => t.figures));
  record.verdict = reasons.length === 0 && record.trials.length === trials ? 'pass' : 'fail';
  record.verdictReasons = reasons;
  record.durationMs = Date.now() - started;
  return record;
}
