/**
 * Prometheus for `up --observe`: the same approach as test/observability/support/prometheus.ts
 * (config as JSON, which is YAML; free loopback port; wait for /-/ready; stop by pid), with the
 * TSDB and log inside the run folder. Needs the `prometheus` binary (apt-get install prometheus).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@session-auth/topology';
import { pollUntil, sleep } from '../util.js';

export interface PrometheusHandle {
  url: string;
  port: number;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

export class MissingPrometheusError extends Error {
  readonly code = 'MISSING_BINARY';
  constructor() {
    super('prometheus binary not found on PATH: install it with `sudo apt-get install prometheus` (or set PROMETHEUS_BIN)');
  }
}

const binary = (): string => process.env.PROMETHEUS_BIN ?? 'prometheus';

/** `prometheus` on PATH (or PROMETHEUS_BIN). */
export function prometheusAvailable(): boolean {
  return spawnSync(binary(), ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Scrapes a release on Kubernetes the way the chart's ServiceMonitor selects it (endpoints of the
 * app Service, port `http`, job = the app.kubernetes.io/name label), through the API server that
 * `kubeconfig` names: what the Prometheus Operator would generate, for a plain Prometheus.
 */
export function kubernetesScrapeConfig(opts: { kubeconfig: string; namespace: string; release: string }): Record<string, unknown> {
  const svc = (label: string) => `__meta_kubernetes_service_label_${label.replace(/[^A-Za-z0-9]/g, '_')}`;
  return {
    job_name: 'session-auth',
    scrape_interval: '1s',
    scrape_timeout: '1s',
    kubernetes_sd_configs: [{ role: 'endpoints', kubeconfig_file: opts.kubeconfig, namespaces: { names: [opts.namespace] } }],
    relabel_configs: [
      { source_labels: [svc('app.kubernetes.io/name')], regex: 'session-auth', action: 'keep' },
      { source_labels: [svc('app.kubernetes.io/instance')], regex: opts.release, action: 'keep' },
      { source_labels: [svc('app.kubernetes.io/component')], regex: 'app', action: 'keep' },
      { source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: 'http', action: 'keep' },
      { source_labels: [svc('app.kubernetes.io/name')], target_label: 'job' },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    ],
  };
}

export async function startPrometheus(opts: { dir: string; targets?: string[]; scrapeConfigs?: Record<string, unknown>[]; ruleFiles: string[] }): Promise<PrometheusHandle> {
  if (!prometheusAvailable()) throw new MissingPrometheusError();
  mkdirSync(opts.dir, { recursive: true });
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: opts.ruleFiles,
    scrape_configs: opts.scrapeConfigs ?? [{ job_name: 'session-auth', scrape_interval: '1s', static_configs: [{ targets: opts.targets ?? [] }] }],
  };
  const configFile = join(opts.dir, 'prometheus.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFile = join(opts.dir, 'prometheus.log');
  const port = await freePort();
  const fd = openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    binary(),
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(opts.dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  process.once('exit', () => child.kill('SIGKILL'));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]))) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    await pollUntil(
      'prometheus /-/ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited, see ${logFile}`);
        const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
        await r.arrayBuffer();
        return r.ok ? true : undefined;
      },
      20_000,
      200,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, pid: child.pid ?? -1, logFile, stop };
}
