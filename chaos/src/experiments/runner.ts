/**
 * Runs one experiment on a platform: users -> steady state (before) -> per trial: load, method,
 * observation, rollback, health, verification -> steady state (after) -> verdict -> reports.
 */
import { createRequire } from 'node:module';
import type CalculateSlot from '@redis/client/dist/lib/utils/calculate-slot.js';
import { Client, makeUsers, startLoad, startPasswordChanges, verifyLedger, verifyPasswordChanges, type LoadRun, type Sample, type SimUser } from '../load.js';
import { aggregate, bucketize, computeFigures, type Check, type Fault, type TimelineEvent } from '../figures.js';
import type { Platform } from '../platforms/platform.js';
import { watchAlerts, type AlertWatch } from '../alerts.js';
import type { Hypothesis, Probe, RunRecord } from '../record.js';
import { quietLogger, sleep, type Logger } from '../util.js';
import { getExperiment, RECOVERY_TOLERANCE_MS, type ExperimentName } from './catalog.js';

// A CommonJS module with a transpiled default export: require() sees it as `.default` under Node
// and under vitest alike (an ESM default import does not: Node gives module.exports, vite the function).
const keySlot = (createRequire(import.meta.url)('@redis/client/dist/lib/utils/calculate-slot.js') as { default: typeof CalculateSlot.default }).default;

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
  /** Told as the run goes (the live view, live/server.ts); it reads the samples as they grow. */
  observer?: RunObserver;
  log?: Logger;
}

/** What a run tells as it happens: the live view draws the timeline from it while the fault is on. */
export interface RunObserver {
  /** `samples` and `events()` grow during the run: read them, never change them. */
  started(run: { experiment: ExperimentName; title: string; topology: string; platform: string; startedAt: number; samples: readonly Sample[]; events: () => TimelineEvent[] }): void;
  mark(m: { at: number; kind: 'trial-start' | 'fault' | 'rollback' | 'trial-end'; trial: number; label: string }): void;
  finished(r: { verdict: RunRecord['verdict']; reasons: string[]; at: number }): void;
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

/** Cluster: the slots of the users' account ids (led by their slot tag); empty before they logged in. */
function userSlots(users: SimUser[]): number[] {
  return users.flatMap((u) => (u.userId === undefined ? [] : [keySlot(u.userId)]));
}

/** Cluster: the users whose account id (led by its slot tag) hashes into these slots. */
function usersIn(slots: [number, number][], users: SimUser[]): Set<number> {
  const hit = new Set<number>();
  for (const u of users) {
    if (u.userId === undefined) continue;
    const slot = keySlot(u.userId);
    if (slots.some(([a, b]) => slot >= a && slot <= b)) hit.add(u.index);
  }
  return hit;
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
  const observer = opts.observer;
  observer?.started({ experiment: exp.name, title: exp.title, topology, platform: platform.name, startedAt: started, samples: client.samples, events: () => recorder.all() });
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
      // The load's users log in one at a time before the first trial, unrecorded (their sessions
      // join the ledger): every trial then starts from the same state, each user holding a
      // session. Otherwise trial 1 alone began with all of them logging in within 140 ms, 16
      // argon2 verifications at once, which on a starved 2-core node hung logins before any fault.
      client.record = false;
      for (const u of users) if (u.sessionId === undefined) await client.login(u);
      client.record = true;
      const bad = new Set<number>();
      for (let i = 0; i < trials; i += 1) {
        // Fresh password changers each trial: one whose change failed with a store error has an
        // unknown password from then on.
        const pwUsers = exp.passwordLoad ? makeUsers(2).map((u, k) => ({ ...u, index: users.length + probeUsers.length + 1 + 2 * i + k })) : [];
        if (pwUsers.length) {
          client.record = false;
          await registerAll(client, pwUsers);
          client.record = true;
        }
        const startAt = Date.now();
        const firstSample = client.samples.length;
        const load = startLoad(client, users);
        const pwLoad: LoadRun | undefined = pwUsers.length ? startPasswordChanges(client, pwUsers) : undefined;
        observer?.mark({ at: startAt, kind: 'trial-start', trial: i + 1, label: `trial ${i + 1}` });
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
          fault = await exp.inject(platform, userSlots(users));
          observer?.mark({ at: fault.at, kind: 'fault', trial: i + 1, label: `${fault.kind} ${fault.target.split(' ')[0]}` });
          log(`trial ${i + 1}/${trials}: ${fault.kind} -> ${fault.target}${fault.detail ? ` (${fault.detail})` : ''}`);
          if (rollbackDelayMs !== null) {
            await sleep(Math.max(0, fault.at + rollbackDelayMs - Date.now()));
            rollbackAt = Date.now();
            observer?.mark({ at: rollbackAt, kind: 'rollback', trial: i + 1, label: 'rollback (restart)' });
            await platform.rollback(fault);
            log(`trial ${i + 1}: rollback done after ${Date.now() - fault.at} ms`);
          }
          await sleep(Math.max(0, fault.at + observeMs - Date.now()));
          await platform.waitHealthy(healthyTimeoutMs);
        } catch (err) {
          error = (err as Error).message;
          log(`trial ${i + 1}: ${error}`);
        } finally {
          await Promise.all([load.stop(), pwLoad?.stop()]);
        }
        if (fault && platform.settle) {
          // Heals a partition still in effect (an error above) and counts the probe's survivors.
          await platform.settle(fault).catch((err: unknown) => {
            error ??= `settle: ${(err as Error).message}`;
          });
        }
        const endAt = Date.now();
        observer?.mark({ at: endAt, kind: 'trial-end', trial: i + 1, label: `trial ${i + 1} end` });
        fault ??= { kind: exp.name, target: 'n/a (injection failed)', at: endAt };
        const verified = await verifyLedger(client, { skip: bad });
        for (const id of [...verified.lost, ...verified.undone]) bad.add(id);
        const passwords = exp.passwordLoad || exp.beforeInject ? await verifyPasswordChanges(client, startAt) : undefined;
        const damaged = [
          ...verified.lost.map((id) => client.ledger[id]!).map((e) => ({ at: e.ackedAt, backend: e.backend })),
          ...verified.undone.map((id) => client.ledger[id]!).map((e) => ({ at: e.revokedAt ?? e.ackedAt, backend: e.revokedBy })),
          ...(passwords?.undoneChanges ?? []),
        ];
        const samples = client.samples.slice(firstSample);
        const events = recorder.all().filter((e) => e.at >= startAt && e.at <= endAt);
        const figures = computeFigures({
          samples,
          events,
          fault,
          rollbackAt,
          ...(fault.slots ? { hitUsers: usersIn(fault.slots, [...users, ...probeUsers, changer]) } : {}),
          verify: {
            ackedSessions: verified.ackedSessions,
            lost: verified.lost.length,
            revocations: verified.revocations,
            undone: verified.undone.length,
            ambiguous: verified.ambiguous,
            damaged,
            ...(passwords ? { passwords } : {}),
          },
        });
        const checks = exp.expectations(topology, figures, platform.recoveryToleranceMs ?? RECOVERY_TOLERANCE_MS, fault);
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
          ...(damaged.length
            ? {
                damage: [
                  ...verified.lost.map((id) => client.ledger[id]!).map((e) => ({ kind: 'session lost' as const, user: e.user, atMs: e.ackedAt - fault.at, backend: e.backend })),
                  ...verified.undone.map((id) => client.ledger[id]!).map((e) => ({ kind: 'revocation undone' as const, user: e.user, atMs: (e.revokedAt ?? e.ackedAt) - fault.at, backend: e.revokedBy })),
                  ...(passwords?.undoneChanges ?? []).map((c) => ({ kind: 'password change undone' as const, user: -1, atMs: c.at - fault.at, backend: c.backend })),
                ],
              }
            : {}),
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
  observer?.finished({ verdict: record.verdict, reasons: reasons, at: Date.now() });
  return record;
}
