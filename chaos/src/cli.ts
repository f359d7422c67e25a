#!/usr/bin/env node
/**
 * session-auth chaos CLI.
 *
 *   up    --topology standalone|sentinel|cluster|replicated [--replicas 3] [--port 8080] [--observe]
 *   down
 *   run   --experiment <name> [--topology standalone|sentinel|cluster|replicated] [--platform local|netns|kubernetes] [--replicas 3] [--trials N] [--observe] [--report-dir reports] [--live-port N]
 *   demo  [--report-dir reports] [--live-port N]
 *   list
 *
 * run and demo serve a live view of the request timeline while they run (live/server.ts).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MissingBinaryError, pidAlive } from '@session-auth/topology';
import { startCluster, writeCurrent, type Cluster, type TopologyKind } from './cluster/index.js';
import { kubernetesScrapeConfig, prometheusAvailable, startPrometheus, type PrometheusHandle } from './cluster/prometheus.js';
import { experimentNames, experiments, getExperiment } from './experiments/catalog.js';
import { runExperiment } from './experiments/runner.js';
import type { RunRecord } from './record.js';
import { LocalPlatform } from './platforms/local.js';
import type { Platform } from './platforms/platform.js';
import { renderIndexHtml } from './report/html.js';
import { startLiveView, type LiveView } from './live/server.js';
import { writeRunReport } from './report/write.js';
import { aggregateTable, alertsSummary, experimentList, summaryTable } from './summary.js';
import { repoRoot, sleep, stderrLogger, timestamp } from './util.js';

const log = stderrLogger;
const NETNS_MAX_LAG_SECONDS = 3;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      topology: { type: 'string' },
      replicas: { type: 'string' },
      port: { type: 'string' },
      observe: { type: 'boolean', default: false },
      experiment: { type: 'string' },
      platform: { type: 'string' },
      trials: { type: 'string' },
      'min-replicas-max-lag': { type: 'string' },
      'report-dir': { type: 'string' },
      'live-port': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

function topologyArg(v: string | undefined, fallback: TopologyKind): TopologyKind {
  const t = v ?? fallback;
  if (t !== 'standalone' && t !== 'sentinel' && t !== 'cluster' && t !== 'replicated') {
    throw new Error(`--topology must be standalone, sentinel, cluster or replicated, not "${t}"`);
  }
  return t;
}

function intArg(name: string, v: string | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, not "${v}"`);
  return n;
}

function reportDir(v: string | undefined): string {
  return resolve(v ?? process.env.REPORT_DIR ?? join(repoRoot(), 'reports'));
}

/** One shutdown path for Ctrl-C / SIGTERM: stop what we started, then exit. */
function onSignals(cleanup: () => Promise<void>): void {
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      log(`${sig}: stopping everything`);
      const hard = setTimeout(() => process.exit(130), 20_000);
      hard.unref();
      cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    });
  }
}

let active: Cluster | undefined;

/** The live view for run and demo, on --live-port (default: a free port), loopback only. */
async function liveView(args: ReturnType<typeof parse>['values']): Promise<LiveView> {
  const live = await startLiveView({ port: args['live-port'] === undefined ? 0 : intArg('live-port', args['live-port'], 0, 0) });
  log(`live view: ${live.url}  (open it to watch the request timeline fill in)`);
  return live;
}

async function up(args: ReturnType<typeof parse>['values']): Promise<void> {
  const topology = topologyArg(args.topology, 'sentinel');
  const replicas = intArg('replicas', args.replicas, 3);
  const port = args.port === undefined ? undefined : intArg('port', args.port, 0, 0);
  const currentFile = join(repoRoot(), '.run', 'current.json');
  if (existsSync(currentFile)) {
    const prev = JSON.parse(readFileSync(currentFile, 'utf8')) as { ownerPid?: number };
    if (prev.ownerPid && pidAlive(prev.ownerPid)) throw new Error(`a cluster is already up (pid ${prev.ownerPid}); run \`npm run down\` first`);
  }
  onSignals(async () => {
    await active?.stop();
    rmSync(currentFile, { force: true });
  });
  const cluster = await startCluster({ topology, replicas, port, observe: args.observe, log });
  active = cluster;
  writeCurrent(cluster, currentFile);
  const rows = cluster.processes().map((p) => `  ${p.name.padEnd(14)} ${p.kind.padEnd(10)} port ${String(p.port).padEnd(6)} pid ${String(p.pid ?? '-').padEnd(8)} ${p.log}`);
  console.log(`\nsession-auth local cluster (${topology}, ${replicas} app replica(s)) is up\n`);
  console.log(`  URL          ${cluster.url}   (try: curl -s ${cluster.url}/readyz)`);
  if (cluster.prometheus) console.log(`  Prometheus   ${cluster.prometheus.url}   (alerts: ${cluster.prometheus.url}/alerts)`);
  console.log(`  logs         ${cluster.runDir}`);
  console.log(`  state        ${currentFile}\n`);
  console.log(rows.join('\n'));
  console.log('\nCtrl-C (or `npm run down`) stops everything.');
  // Keep running until a signal arrives.
  await new Promise<never>(() => {});
}

async function down(): Promise<void> {
  const file = join(repoRoot(), '.run', 'current.json');
  if (!existsSync(file)) {
    console.log('nothing is up (.run/current.json not found)');
    return;
  }
  const state = JSON.parse(readFileSync(file, 'utf8')) as { ownerPid: number; processes: { name: string; kind: string; pid?: number }[] };
  const pids = state.processes.map((p) => p.pid).filter((p): p is number => typeof p === 'number' && p !== state.ownerPid);
  if (pidAlive(state.ownerPid)) {
    console.log(`stopping cluster owner pid ${state.ownerPid} (SIGTERM)`);
    process.kill(state.ownerPid, 'SIGTERM');
  }
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && [state.ownerPid, ...pids].some(pidAlive)) await sleep(200);
  // Whatever survived (owner killed by SIGKILL earlier?): kill by pid, only if it still is the process we started.
  for (const p of state.processes) {
    if (!p.pid || p.pid === state.ownerPid || !pidAlive(p.pid)) continue;
    const cmd = readCmdline(p.pid);
    const expected = p.kind === 'app' ? 'main.js' : p.kind === 'sentinel' ? 'redis-sentinel' : p.kind === 'redis' ? 'redis-server' : p.kind;
    if (cmd.includes(expected) || (p.kind === 'sentinel' && cmd.includes('redis-server'))) {
      console.log(`killing leftover ${p.name} pid ${p.pid}`);
      process.kill(p.pid, 'SIGKILL');
    }
  }
  rmSync(file, { force: true });
  const left = pids.filter(pidAlive);
  console.log(left.length ? `still alive: ${left.join(', ')}` : 'everything stopped');
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** What platformFor needs besides topology and replicas (mostly what the local and netns platforms start). */
interface LocalOptions {
  network?: 'loopback' | 'netns';
  minReplicasMaxLag?: number;
  /** REDIS_WAIT_REPLICAS for the app replicas, when given. */
  waitReplicas?: string;
  /** --topology as given (kubernetes: checked against the release's SESSION_STORE). */
  requestedTopology?: TopologyKind;
}

async function withLocalCluster<T>(
  topology: TopologyKind,
  replicas: number,
  fn: (p: Platform, prometheusUrl?: string) => Promise<T>,
  observe = false,
  local: LocalOptions = {},
): Promise<T> {
  const runDir = join(repoRoot(), '.run', `${timestamp()}-${topology}${local.network === 'netns' ? '-netns' : ''}`);
  const cluster = await startCluster({
    topology,
    replicas,
    runDir,
    observe,
    log,
    network: local.network,
    ...(local.minReplicasMaxLag ? { sentinelOptions: { minReplicasMaxLag: local.minReplicasMaxLag } } : {}),
    ...(local.waitReplicas !== undefined ? { appEnv: { REDIS_WAIT_REPLICAS: local.waitReplicas } } : {}),
  });
  active = cluster;
  log(`${topology} cluster up at ${cluster.url} (logs ${relative(process.cwd(), runDir)})`);
  try {
    return await fn(new LocalPlatform(cluster), cluster.prometheus?.url);
  } finally {
    await cluster.stop();
    active = undefined;
  }
}

/**
 * `--observe` on Kubernetes from outside the cluster: a Prometheus on this machine that finds the
 * release's app pods through the API server (KUBECONFIG) as the chart's ServiceMonitor selects
 * them, with the chart's alert rules. PROMETHEUS_URL instead uses one that already scrapes it.
 */
async function clusterPrometheus(): Promise<PrometheusHandle> {
  const kubeconfig = process.env.KUBECONFIG;
  const namespace = process.env.K8S_NAMESPACE;
  const release = /(?:^|,)app\.kubernetes\.io\/instance=([^,]+)/.exec(process.env.APP_POD_SELECTOR ?? '')?.[1];
  if (!kubeconfig || !namespace || !release) {
    throw new Error('--observe on kubernetes needs KUBECONFIG, K8S_NAMESPACE and APP_POD_SELECTOR with app.kubernetes.io/instance=<release> (or PROMETHEUS_URL)');
  }
  const dir = join(repoRoot(), '.run', `${timestamp()}-kubernetes-prometheus`);
  const prom = await startPrometheus({
    dir,
    scrapeConfigs: [kubernetesScrapeConfig({ kubeconfig, namespace, release })],
    ruleFiles: [join(repoRoot(), 'charts/session-auth/files/prometheus/alerts.yaml')],
  }).catch((err: unknown) => {
    // Debian's prometheus package is built without kubernetes_sd and refuses the config.
    throw new Error(`${(err as Error).message} (a prometheus with kubernetes_sd is needed: Debian's has none; deploy/localkube/build.sh builds one, point PROMETHEUS_BIN at it)`);
  });
  log(`prometheus at ${prom.url} scraping release ${release} in ${namespace} through the API server (logs ${relative(process.cwd(), dir)})`);
  return prom;
}

async function platformFor(
  name: string,
  topology: TopologyKind,
  replicas: number,
  observe: boolean,
  fn: (p: Platform, prometheusUrl?: string) => Promise<RunRecord>,
  local: LocalOptions = {},
): Promise<RunRecord> {
  if (name === 'local') return withLocalCluster(topology, replicas, fn, observe, local);
  // Every process in its own network namespace. min-replicas-max-lag 3 s (Redis's default is
  // 10 s) so that a 6 s partition outlasts it and the bound shows within a short trial.
  if (name === 'netns') return withLocalCluster(topology, replicas, fn, observe, { ...local, network: 'netns', minReplicasMaxLag: local.minReplicasMaxLag ?? NETNS_MAX_LAG_SECONDS });
  if (name === 'kubernetes') {
    const { createKubernetesPlatform } = await import('./platforms/kubernetes.js');
    const p = await createKubernetesPlatform(process.env, log);
    // The release decides the topology (SESSION_STORE); --topology may only confirm it.
    if (local.requestedTopology !== undefined && local.requestedTopology !== p.topology) {
      await p.close();
      throw new Error(`--topology ${local.requestedTopology}, but the release's SESSION_STORE=${process.env.SESSION_STORE ?? '(unset)'} is the ${p.topology} topology`);
    }
    const prometheus = observe && !process.env.PROMETHEUS_URL ? await clusterPrometheus() : undefined;
    try {
      return await fn(p, process.env.PROMETHEUS_URL ?? prometheus?.url);
    } finally {
      await prometheus?.stop();
      await p.close();
    }
  }
  throw new Error(`--platform must be local, netns or kubernetes, not "${name}"`);
}

async function run(args: ReturnType<typeof parse>['values']): Promise<number> {
  const exp = getExperiment(args.experiment ?? 'kill-primary');
  const store = process.env.SESSION_STORE;
  const envTopology = store === 'redis' ? 'standalone' : store === 'sentinel' || store === 'cluster' ? store : undefined;
  const topology = topologyArg(args.topology ?? envTopology, exp.topologies.includes('sentinel') ? 'sentinel' : 'standalone');
  const trials = intArg('trials', args.trials, 1);
  const replicas = intArg('replicas', args.replicas, 3);
  const live = await liveView(args);
  onSignals(async () => {
    await active?.stop();
    await live.close();
  });
  const maxLag = args['min-replicas-max-lag'] === undefined ? undefined : intArg('min-replicas-max-lag', args['min-replicas-max-lag'], 1);
  const record = await platformFor(
    args.platform ?? (exp.name.startsWith('partition-') ? 'netns' : 'local'),
    topology,
    replicas,
    args.observe ?? false,
    (platform, prometheusUrl) => runExperiment({ platform, experiment: exp.name, trials, prometheusUrl, observer: live.observer, log }),
    { minReplicasMaxLag: maxLag, waitReplicas: process.env.REDIS_WAIT_REPLICAS, ...(args.topology !== undefined ? { requestedTopology: topology } : {}) },
  ).finally(() => live.close());
  const files = writeRunReport(record, reportDir(args['report-dir']));
  console.log(`\n${summaryTable([record])}\n`);
  if (record.alerts) console.log(`${alertsSummary([record])}\n`);
  if (trials > 1) console.log(`${aggregateTable(record)}\n`);
  if (record.verdictReasons.length) console.log(record.verdictReasons.map((r) => `  - ${r}`).join('\n'));
  console.log(`\nreport: ${files.html}\nrecord: ${files.json}`);
  return record.verdict === 'pass' ? 0 : 1;
}

async function demo(args: ReturnType<typeof parse>['values']): Promise<number> {
  const started = Date.now();
  const dir = reportDir(args['report-dir']);
  const live = await liveView(args);
  onSignals(async () => {
    await active?.stop();
    await live.close();
  });
  const runs: { record: RunRecord; href: string }[] = [];
  // The demo watches alerts only where it can.
  const observe = prometheusAvailable();
  if (!observe) log('prometheus not found: the demo runs without recording alerts (apt-get install prometheus)');
  for (const topology of ['standalone', 'sentinel'] as const) {
    log(`=== demo: kill-primary on ${topology} (3 app replicas) ===`);
    const record = await withLocalCluster(
      topology,
      3,
      (platform, prometheusUrl) => runExperiment({ platform, experiment: 'kill-primary', prometheusUrl, observer: live.observer, log }),
      observe,
    );
    const files = writeRunReport(record, dir);
    runs.push({ record, href: `${files.base}.html` });
    log(`${topology}: ${record.verdict.toUpperCase()} -> ${files.html}`);
  }
  await live.close();
  const index = join(dir, 'index.html');
  writeFileSync(
    index,
    renderIndexHtml(runs, {
      title: 'kill -9 of the Redis primary: standalone vs Sentinel',
      note:
        'Same service, same load (16 simulated users through a round-robin ingress to 3 app replicas), same fault. ' +
        'Standalone: the outage lasts until Redis is restarted (5 s here). Sentinel: a replica is promoted and the apps follow it.',
    }),
  );
  console.log(`\n${summaryTable(runs.map((r) => r.record))}\n`);
  if (observe) console.log(`${alertsSummary(runs.map((r) => r.record))}\n`);
  console.log(`index: ${index}`);
  console.log(`demo took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return runs.every((r) => r.record.verdict === 'pass') ? 0 : 1;
}

function usage(): string {
  return `usage: cli.js <command> [options]
  up    --topology standalone|sentinel|cluster|replicated [--replicas 3] [--port 8080] [--observe]
  down
  run   --experiment ${experimentNames.join('|')} [--topology standalone|sentinel|cluster|replicated] [--platform local|netns|kubernetes] [--replicas 3] [--trials N] [--observe] [--report-dir reports] [--min-replicas-max-lag S] [--live-port N]
        --platform netns (root; default for partition-*): every Redis node, sentinel and app replica in
        its own network namespace, min-replicas-max-lag 3 s unless given. REDIS_WAIT_REPLICAS in the
        environment is passed to the app replicas (local and netns).
        --observe: also run Prometheus with the chart's alert rules and record which alerts went
        pending or fired (kubernetes: set PROMETHEUS_URL)
        --live-port: where the live view of the request timeline is served (default: a free port)
  demo  [--report-dir reports] [--live-port N]
  list`;
}

async function main(): Promise<number> {
  const { values, positionals } = parse(process.argv.slice(2));
  const [cmd] = positionals;
  if (values.help || !cmd) {
    console.log(usage());
    return cmd ? 0 : 2;
  }
  switch (cmd) {
    case 'up':
      await up(values);
      return 0;
    case 'down':
      await down();
      return 0;
    case 'run':
      return run(values);
    case 'demo':
      return demo(values);
    case 'list':
      console.log(experimentList(Object.values(experiments)));
      return 0;
    default:
      console.error(usage());
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    if (err instanceof MissingBinaryError) console.error(`error: ${err.message}\n(Debian/Ubuntu: sudo apt-get install redis-server redis-sentinel)`);
    else console.error(`error: ${(err as Error).stack ?? String(err)}`);
    await active?.stop().catch(() => {});
    process.exit(1);
  },
);
