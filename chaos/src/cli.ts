#!/usr/bin/env node
/**
 * session-auth chaos CLI.
 *
 *   up    --topology standalone|sentinel|replicated [--replicas 3] [--port 8080] [--observe]
 *   down
 *   run   --experiment <name> [--topology standalone|sentinel|replicated] [--platform local|kubernetes] [--replicas 3] [--trials N] [--observe] [--report-dir reports]
 *   demo  [--report-dir reports]
 *   list
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MissingBinaryError, pidAlive } from '@session-auth/topology';
import { startCluster, writeCurrent, type Cluster, type TopologyKind } from './cluster/index.js';
import { kubernetesScrapeConfig, prometheusAvailable, startPrometheus, type PrometheusHandle } from './cluster/prometheus.js';
import { experimentNames, experiments, getExperiment } from './experiments/catalog.js';
import { runExperiment, type RunRecord } from './experiments/runner.js';
import { LocalPlatform } from './platforms/local.js';
import type { Platform } from './platforms/platform.js';
import { renderIndexHtml } from './report/html.js';
import { writeRunReport } from './report/write.js';
import { aggregateTable, alertsSummary, experimentList, summaryTable } from './summary.js';
import { repoRoot, sleep, stderrLogger, timestamp } from './util.js';

const log = stderrLogger;

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
      platform: { type: 'string', default: 'local' },
      trials: { type: 'string' },
      'report-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

function topologyArg(v: string | undefined, fallback: TopologyKind): TopologyKind {
  const t = v ?? fallback;
  if (t !== 'standalone' && t !== 'sentinel' && t !== 'replicated') throw new Error(`--topology must be standalone, sentinel or replicated, not "${t}"`);
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

async function withLocalCluster<T>(
  topology: TopologyKind,
  replicas: number,
  fn: (p: Platform, prometheusUrl?: string) => Promise<T>,
  observe = false,
): Promise<T> {
  const runDir = join(repoRoot(), '.run', `${timestamp()}-${topology}`);
  const cluster = await startCluster({ topology, replicas, runDir, observe, log });
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
): Promise<RunRecord> {
  if (name === 'local') return withLocalCluster(topology, replicas, fn, observe);
  if (name === 'kubernetes') {
    const { createKubernetesPlatform } = await import('./platforms/kubernetes.js');
    const p = await createKubernetesPlatform(process.env, log);
    const prometheus = observe && !process.env.PROMETHEUS_URL ? await clusterPrometheus() : undefined;
    try {
      return await fn(p, process.env.PROMETHEUS_URL ?? prometheus?.url);
    } finally {
      await prometheus?.stop();
      await p.close();
    }
  }
  throw new Error(`--platform must be local or kubernetes, not "${name}"`);
}

async function run(args: ReturnType<typeof parse>['values']): Promise<number> {
  const exp = getExperiment(args.experiment ?? 'kill-primary');
  const envTopology = process.env.SESSION_STORE === 'redis' ? 'standalone' : process.env.SESSION_STORE === 'sentinel' ? 'sentinel' : undefined;
  const topology = topologyArg(args.topology ?? envTopology, exp.topologies.includes('sentinel') ? 'sentinel' : 'standalone');
  const trials = intArg('trials', args.trials, 1);
  const replicas = intArg('replicas', args.replicas, 3);
  onSignals(async () => {
    await active?.stop();
  });
  const record = await platformFor(args.platform ?? 'local', topology, replicas, args.observe ?? false, (platform, prometheusUrl) =>
    runExperiment({ platform, experiment: exp.name, trials, prometheusUrl, log }),
  );
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
  onSignals(async () => {
    await active?.stop();
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
      (platform, prometheusUrl) => runExperiment({ platform, experiment: 'kill-primary', prometheusUrl, log }),
      observe,
    );
    const files = writeRunReport(record, dir);
    runs.push({ record, href: `${files.base}.html` });
    log(`${topology}: ${record.verdict.toUpperCase()} -> ${files.html}`);
  }
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
  up    --topology standalone|sentinel|replicated [--replicas 3] [--port 8080] [--observe]
  down
  run   --experiment ${experimentNames.join('|')} [--topology standalone|sentinel|replicated] [--platform local|kubernetes] [--replicas 3] [--trials N] [--observe] [--report-dir reports]
        --observe: also run Prometheus with the chart's alert rules and record which alerts went
        pending or fired (kubernetes: set PROMETHEUS_URL)
  demo  [--report-dir reports]
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
