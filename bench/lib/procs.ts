// Child processes of the bench: every one is tracked by pid and killed on exit, error or signal.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const children = new Set<ChildProcess>();
const cleanups: (() => Promise<void>)[] = [];
let installed = false;

function killSync(): void {
  for (const c of children) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Registers async cleanup (topology stop) run on normal end and on SIGINT/SIGTERM. */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

export async function cleanupAll(): Promise<void> {
  for (const c of [...children]) await stopChild(c);
  const fns = cleanups.splice(0).reverse();
  for (const fn of fns) {
    await Promise.race([fn().catch(() => {}), new Promise((r) => setTimeout(r, 10_000).unref())]);
  }
}

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      console.error(`\n[bench] ${sig}: stopping every process started by the bench`);
      cleanupAll().finally(() => process.exit(130));
    });
  }
}

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** stderr/stdout tail, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

async function stopChild(c: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) {
    children.delete(c);
    return;
  }
  const exited = once(c, 'exit');
  try {
    process.kill(c.pid, signal);
  } catch {
    // gone
  }
  const t = setTimeout(() => {
    try {
      if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, 5000);
  await exited;
  clearTimeout(t);
  children.delete(c);
}

export function spawnNode(
  name: string,
  args: string[],
  env: Record<string, string>,
  opts: { capture?: boolean; cpus?: string | undefined } = {},
): Child {
  // taskset execs the program: the pid we hold stays Node's own.
  const [cmd, argv] = opts.cpus ? ['taskset', ['-c', opts.cpus, process.execPath, ...args]] : [process.execPath, args];
  const proc = spawn(cmd, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  let tail = '';
  const keep = (b: Buffer) => {
    tail = (tail + b.toString()).slice(-8000);
    if (!opts.capture) return;
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  return { name, proc, output: () => tail, stop: () => stopChild(proc) };
}

/** Polls `url` until it answers 200 (or throws with the child's output). */
export async function waitHttp(url: string, child: Child, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null) throw new Error(`${child.name} exited early (${child.proc.exitCode}):\n${child.output()}`);
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${child.name} not ready at ${url} after ${timeoutMs} ms:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs a TypeScript file in its own Node process (tsx loader), optional extra node flags. */
export function spawnTs(name: string, file: string, env: Record<string, string>, nodeFlags: string[] = [], cpus?: string): Child {
  return spawnNode(name, [...nodeFlags, '--import', 'tsx', file], env, { cpus });
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. Per-request CPU
 * of a server is far steadier than its req/s on a machine shared with other work: the scheduler
 * decides how much CPU a contender gets, not how much each of its requests costs.
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), counted from field 3: utime is 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
}
/** USER_HZ: 100 on every Linux the bench runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;
