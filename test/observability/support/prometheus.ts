/**
 * A real Prometheus server for tests: started on a free loopback port with a throw-away TSDB,
 * queried over its HTTP API, stopped by pid. Reusable for "every panel returns data under load"
 * tests against the local cluster: pass the scrape config of the running replicas.
 *
 * Needs the `prometheus` binary (Debian/Ubuntu: `apt-get install prometheus`), or PROMETHEUS_BIN.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ScrapeConfig {
  job_name: string;
  scrape_interval?: string;
  metrics_path?: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  [key: string]: unknown;
}

export interface StartPrometheusOptions {
  /** Scrape jobs; empty (the default) gives a server that only parses and evaluates queries. */
  scrapeConfigs?: ScrapeConfig[];
  /** Global scrape/evaluation interval; default 5s (fast feedback in tests). */
  scrapeInterval?: string;
  /** Absolute paths of rule files to load (e.g. charts/session-auth/files/prometheus/alerts.yaml). */
  ruleFiles?: string[];
  /** Path of the binary; default $PROMETHEUS_BIN or `prometheus` on PATH. */
  binary?: string;
  /** Extra command-line flags. */
  extraArgs?: string[];
  /** How long to wait for /-/ready; default 20s. */
  readyTimeoutMs?: number;
}

export interface PromResponse<T = unknown> {
  httpStatus: number;
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
}

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

export interface QueryData {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: VectorSample[] | MatrixSeries[] | [number, string];
}

export interface TargetInfo {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface PrometheusServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Instant query; never throws on a PromQL error: inspect httpStatus/status/error. */
  query(expr: string, time?: Date | number): Promise<PromResponse<QueryData>>;
  /** Range query over [start, end] with the given step in seconds. */
  queryRange(expr: string, start: Date | number, end: Date | number, stepSeconds: number): Promise<PromResponse<QueryData>>;
  /** Values of a label, optionally restricted by series selectors (Grafana's label_values()). */
  labelValues(label: string, match?: string[]): Promise<PromResponse<string[]>>;
  /** Active scrape targets. */
  targets(): Promise<TargetInfo[]>;
  /** Waits until every active target of `job` (or of every job) reports health "up". */
  waitForTargetsUp(opts?: { job?: string; timeoutMs?: number; minTargets?: number }): Promise<TargetInfo[]>;
  /** Stops the server (SIGTERM, then SIGKILL after 5s) and deletes its data directory. */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The binary to use, or undefined when it is not installed. */
export function findPrometheusBinary(name = 'prometheus'): string | undefined {
  const candidate = name === 'prometheus' ? (process.env.PROMETHEUS_BIN ?? 'prometheus') : name;
  const probe = spawnSync(candidate, ['--version'], { stdio: 'ignore' });
  return probe.error || probe.status !== 0 ? undefined : candidate;
}

/** A free TCP port on 127.0.0.1 (freed again before returning; startPrometheus retries on a race). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

function toUnixSeconds(time: Date | number): string {
  return String(time instanceof Date ? time.getTime() / 1000 : time);
}

async function getJson<T>(url: string): Promise<PromResponse<T>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  let body: Partial<PromResponse<T>>;
  try {
    body = JSON.parse(text) as Partial<PromResponse<T>>;
  } catch {
    body = { status: 'error', errorType: 'invalid_json', error: text.slice(0, 500) };
  }
  return { ...body, status: body.status ?? 'error', httpStatus: response.status };
}

/** Processes still running when the test process exits are killed, so nothing leaks on a crash. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
}

async function launch(binary: string, dir: string, configPath: string, opts: StartPrometheusOptions): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const port = await freePort();
  const args = [
    `--config.file=${configPath}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    const failed = await Promise.race([spawnError, sleep(100).then(() => undefined)]);
    if (failed) throw new Error(`could not start ${binary}: ${failed.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw Object.assign(new Error(`prometheus exited (${child.exitCode ?? child.signalCode}) before ready:\n${stderr}`), {
        addressInUse: /address already in use/i.test(stderr),
      });
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return { child, port, stderr: () => stderr };
    } catch {
      // not listening yet
    }
  }
  child.kill('SIGKILL');
  throw new Error(`prometheus not ready on 127.0.0.1:${port} within ${opts.readyTimeoutMs ?? 20_000} ms:\n${stderr}`);
}

export async function startPrometheus(opts: StartPrometheusOptions = {}): Promise<PrometheusServer> {
  const binary = opts.binary ?? findPrometheusBinary();
  if (!binary) {
    throw new Error('prometheus binary not found: install it (apt-get install prometheus) or set PROMETHEUS_BIN');
  }
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'session-auth-prom-'));
  const interval = opts.scrapeInterval ?? '5s';
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: opts.ruleFiles ?? [],
    scrape_configs: opts.scrapeConfigs ?? [],
  };
  // YAML is a superset of JSON: Prometheus reads this file as is.
  const configPath = join(dir, 'prometheus.yml');
  await writeFile(configPath, JSON.stringify(config, null, 2));

  let launched: Awaited<ReturnType<typeof launch>> | undefined;
  for (let attempt = 1; launched === undefined; attempt += 1) {
    try {
      launched = await launch(binary, dir, configPath, opts);
    } catch (error) {
      const retry = attempt < 3 && (error as { addressInUse?: boolean }).addressInUse === true;
      if (!retry) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const { child, port } = launched;
  const url = `http://127.0.0.1:${port}`;
  const pid = child.pid ?? -1;

  const server: PrometheusServer = {
    url,
    port,
    pid,
    query(expr, time) {
      const params = new URLSearchParams({ query: expr });
      if (time !== undefined) params.set('time', toUnixSeconds(time));
      return getJson<QueryData>(`${url}/api/v1/query?${params.toString()}`);
    },
    queryRange(expr, start, end, stepSeconds) {
      const params = new URLSearchParams({
        query: expr,
        start: toUnixSeconds(start),
        end: toUnixSeconds(end),
        step: String(stepSeconds),
      });
      return getJson<QueryData>(`${url}/api/v1/query_range?${params.toString()}`);
    },
    labelValues(label, match = []) {
      const params = new URLSearchParams();
      for (const selector of match) params.append('match[]', selector);
      return getJson<string[]>(`${url}/api/v1/label/${encodeURIComponent(label)}/values?${params.toString()}`);
    },
    async targets() {
      const response = await getJson<{ activeTargets: TargetInfo[] }>(`${url}/api/v1/targets?state=active`);
      if (response.status !== 'success' || !response.data) {
        throw new Error(`targets API failed: ${response.httpStatus} ${response.error ?? ''}`);
      }
      return response.data.activeTargets;
    },
    async waitForTargetsUp({ job, timeoutMs = 60_000, minTargets = 1 } = {}) {
      const deadline = Date.now() + timeoutMs;
      let last: TargetInfo[] = [];
      while (Date.now() < deadline) {
        last = (await server.targets()).filter((t) => job === undefined || t.labels.job === job);
        if (last.length >= minTargets && last.every((t) => t.health === 'up')) return last;
        await sleep(500);
      }
      const summary = last.map((t) => `${t.scrapeUrl}: ${t.health} ${t.lastError}`).join('\n');
      throw new Error(`targets${job ? ` of job ${job}` : ''} not all up within ${timeoutMs} ms:\n${summary}`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const graceful = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
        if (!graceful) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      running.delete(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}
