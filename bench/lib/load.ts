import { spawnTs, ROOT } from './procs.js';

export interface LoadSpec {
  url: string;
  connections: number;
  seconds: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Cycled per request (one cookie header per entry). */
  cookies?: string[];
  /** Cycled per request. */
  bodies?: string[];
  /** taskset CPU list the load generator runs on (bench/lib/cpus.ts); anywhere when absent. */
  cpus?: string | undefined;
}

export interface LoadResult {
  seconds: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** 2xx responses per second. */
  rps: number;
  /** Milliseconds, 2xx responses only. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
  /** CPU seconds the load generator itself used for the run. */
  cpuSeconds: number;
}

/** Runs autocannon in a separate process and returns its result. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = spawnTs('autocannon', `${ROOT}bench/load-worker.ts`, { NODE_ENV: 'production', LOAD_SPEC: JSON.stringify(spec) }, [], spec.cpus);
  let out = '';
  child.proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.proc.once('exit', (c) => resolve(c)));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`load worker failed (exit ${code}):\n${child.output()}`);
  return JSON.parse(line) as LoadResult;
}
