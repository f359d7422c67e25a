// Helpers for the chart tests: locate helm, run it, parse its output, validate documents with
// kubernetes-models (core kinds) and @kubernetes-models/* (Prometheus Operator, Gateway API CRDs).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { requireGoTool } from '../../../scripts/go-tools.js';

const execFileAsync = promisify(execFile);

export const chartDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(chartDir, '..', '..');

/** helm on PATH, else in `go env GOPATH`/bin (where scripts/install-helm.sh puts it). */
export function locateHelm(): string {
  return requireGoTool('helm', 'HELM_BIN', 'scripts/install-helm.sh (`go install helm.sh/helm/v3/cmd/helm@v3.22.0`)');
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function helm(args: string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await execFileAsync(locateHelm(), args, {
      cwd: chartDir,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, HELM_CACHE_HOME: '/tmp/helm-test-cache', HELM_CONFIG_HOME: '/tmp/helm-test-config' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

// Rendered Kubernetes object: only the fields the tests read are typed.
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  rules?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  roleRef?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  subjects?: any;
}

export async function template(args: string[]): Promise<K8sObject[]> {
  const res = await helm(['template', 'sa-test', '.', '--namespace', 'auth-ns', ...args]);
  if (res.code !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${res.stderr}`);
  const docs = parseAllDocuments(res.stdout, { uniqueKeys: true });
  const out: K8sObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML from helm template: ${doc.errors.map((e) => e.message).join('; ')}`);
    const obj = doc.toJS() as K8sObject | null;
    if (obj) out.push(obj);
  }
  return out;
}

type ModelCtor = new (data: unknown) => { validate(): void };

function modulePath(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  if (group === 'gateway.networking.k8s.io') return `@kubernetes-models/gateway-api/${apiVersion}`;
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

/** Validates one object against its Kubernetes schema; throws with the schema error. */
export async function validateObject(obj: K8sObject): Promise<void> {
  const spec = modulePath(obj.apiVersion, obj.kind);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`no schema model for ${obj.apiVersion} ${obj.kind} (${spec}): ${(err as Error).message}`, { cause: err });
  }
  const Ctor = mod[obj.kind] as ModelCtor | undefined;
  if (typeof Ctor !== 'function') throw new Error(`no schema model for ${obj.apiVersion} ${obj.kind} in ${spec}`);
  try {
    new Ctor(obj).validate();
  } catch (err) {
    throw new Error(`${obj.kind}/${obj.metadata.name}: ${(err as Error).message}`, { cause: err });
  }
}

export function byKind(objs: K8sObject[], kind: string): K8sObject[] {
  return objs.filter((o) => o.kind === kind);
}

export function one(objs: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}${name ? `/${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** Pod template spec of a workload (Deployment, StatefulSet, Job) or the spec of a Pod. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function podSpec(obj: K8sObject): any {
  return obj.kind === 'Pod' ? obj.spec : obj.spec.template.spec;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function allContainers(obj: K8sObject): any[] {
  const spec = podSpec(obj);
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}
