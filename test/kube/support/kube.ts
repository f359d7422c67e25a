// The real-cluster e2e's view of the cluster: deploy/localkube brings it up; kubectl and helm run
// against its kubeconfig; Services are reached from the host at their ClusterIP (kube-proxy's
// rules on this node route them, traffic stays inside the cluster's own network namespaces).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findGoTool } from '../../../scripts/go-tools.js';

const execFileAsync = promisify(execFile);
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const chartDir = join(repoRoot, 'charts/session-auth');

/** Where deploy/localkube keeps binaries, images and the run state (its LOCALKUBE_HOME). */
export const localkubeHome = process.env.LOCALKUBE_HOME ?? join(homedir(), '.cache/session-auth/localkube');

/** The cluster's environment as deploy/localkube/up.sh wrote it (KUBECONFIG, ...). */
export function clusterEnv(): Record<string, string> {
  const file = join(localkubeHome, 'run', 'env');
  if (!existsSync(file)) throw new Error(`no running localkube cluster (${file} missing): run npm run kube:up`);
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(?:export\s+)?([A-Z_][A-Z0-9_]*)=("?)(.*)\2$/.exec(line.trim());
    if (m) env[m[1] as string] = m[3] as string;
  }
  return env;
}

export function kubectlBin(): string {
  const own = join(localkubeHome, 'bin', 'kubectl');
  return existsSync(own) ? own : 'kubectl';
}

export function helmBin(): string {
  const h = findGoTool('helm', 'HELM_BIN');
  if (!h) throw new Error('helm not found: npm test installs it (scripts/install-helm.sh)');
  return h;
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(bin: string, args: string[], timeoutMs: number): Promise<Ran> {
  try {
    const { stdout, stderr } = await execFileAsync(bin, args, {
      cwd: repoRoot,
      env: { ...process.env, ...clusterEnv(), HELM_CACHE_HOME: '/tmp/helm-e2e-cache', HELM_CONFIG_HOME: '/tmp/helm-e2e-config' },
      maxBuffer: 64 * 1024 * 1024,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; killed?: boolean };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}${e.killed ? `\n(killed after ${timeoutMs} ms)` : ''}` };
  }
}

export const kubectl = (args: string[], timeoutMs = 120_000): Promise<Ran> => run(kubectlBin(), args, timeoutMs);
export const helm = (args: string[], timeoutMs = 600_000): Promise<Ran> => run(helmBin(), args, timeoutMs);

/** Runs and throws with both streams on a non-zero exit. */
export async function must(p: Promise<Ran>, what: string): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export async function getJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await must(kubectl([...args, '-o', 'json']), `kubectl ${args.join(' ')}`)) as T;
}

interface Service {
  spec: { clusterIP: string; ports: { port: number; name?: string }[] };
}

/** http://<ClusterIP>:<port> of a Service, reachable from this node. */
export async function serviceUrl(namespace: string, name: string): Promise<string> {
  const svc = await getJson<Service>(['-n', namespace, 'get', 'service', name]);
  return `http://${svc.spec.clusterIP}:${svc.spec.ports[0]?.port}`;
}

export interface PodInfo {
  metadata: { name: string; uid: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

export async function pods(namespace: string, selector: string): Promise<PodInfo[]> {
  return (await getJson<{ items: PodInfo[] }>(['-n', namespace, 'get', 'pods', '-l', selector])).items;
}

/** Every object of a release left in a namespace, by kind/name (helm's instance label). */
export async function releaseLeftovers(namespace: string, release: string, kinds: string): Promise<string[]> {
  const out = await must(kubectl(['-n', namespace, 'get', kinds, '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name']), 'kubectl get leftovers');
  return out.split('\n').filter(Boolean);
}

/** The Helm values deploy/localkube/images.sh writes: the locally built images, never pulled. */
export function imageValuesFile(): string {
  const file = process.env.LOCALKUBE_IMAGE_VALUES ?? join(localkubeHome, 'images', 'values.yaml');
  if (!existsSync(file)) throw new Error(`${file} missing: build the images with deploy/localkube/images.sh`);
  return file;
}

/**
 * What a failed step leaves to read: the release's pods, the namespace's events and the last log
 * lines of every pod of the release (test hooks included), written to reports/kube/<name>.txt and
 * returned for the assertion message. A flaky failure is only useful with its evidence kept.
 */
export async function keepDiagnostics(namespace: string, release: string, name: string): Promise<string> {
  const selector = `app.kubernetes.io/instance=${release}`;
  const parts = [
    await kubectl(['-n', namespace, 'get', 'pods', '-o', 'wide']),
    await kubectl(['-n', namespace, 'get', 'events', '--sort-by=.lastTimestamp']),
    await kubectl(['-n', namespace, 'logs', '-l', selector, '--all-containers', '--prefix', '--tail=80', '--max-log-requests=20']),
  ].map((r) => `${r.stdout}${r.stderr}`);
  const text = parts.join('\n----\n');
  const dir = join(repoRoot, 'reports', 'kube');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.txt`), text);
  return text;
}
