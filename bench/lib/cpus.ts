// Where the bench's processes run. On a small machine the load generator (autocannon: most of a
// core at 15k req/s), Redis and the server under test otherwise share every core, and a server that
// answers without waiting for I/O (the memory store, a near-cache hit) is preempted by the load
// generator it has just woken on nearly every response it writes: measured, 0.57 involuntary
// context switches per request for the memory store against 0.24 for the Redis store, which waits
// for Redis and so yields by itself. That made the fastest paths look the slowest. Pinned, the
// server under test has one core and everything else of the bench the others, the same for every
// contender (other work on the machine still runs where the kernel puts it).
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface Placement {
  /** taskset CPU list of the server under test. */
  readonly server: string;
  /** taskset CPU list of the load generators and the Redis servers. */
  readonly aux: string;
  /** Every CPU this process may use: where pinned processes are put back. */
  readonly all: string;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** BENCH_PIN: "auto" (default: on with 2+ CPUs and taskset), "0" off, "1" on (fails without taskset). */
export function placementFromEnv(value = process.env.BENCH_PIN ?? 'auto'): Placement | undefined {
  if (value === '0' || value === 'false') return undefined;
  const n = availableParallelism();
  const ok = n >= 2 && hasTaskset();
  if (!ok) {
    if (value === '1' || value === 'true') throw new Error('BENCH_PIN=1 needs taskset and at least 2 CPUs');
    return undefined;
  }
  // The affinity mask this process may use (a container may be limited to some of the CPUs).
  const allowed = cpuList(execFileSync('taskset', ['-c', '-p', String(process.pid)], { encoding: 'utf8' }).split(':').pop()!.trim());
  if (allowed.length < 2) return undefined;
  return { server: String(allowed.at(-1)), aux: allowed.slice(0, -1).join(','), all: allowed.join(',') };
}

/** "0-2,5" -> [0, 1, 2, 5] */
function cpuList(s: string): number[] {
  return s.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
  });
}

/** Moves a running process (all its threads) onto `cpus`; a process already gone is ignored. */
export function pinPid(pid: number | undefined, cpus: string): void {
  if (pid === undefined) return;
  try {
    execFileSync('taskset', ['-a', '-c', '-p', cpus, String(pid)], { stdio: 'ignore' });
  } catch {
    // exited meanwhile
  }
}
