/**
 * One auth service process (node services/auth/dist/main.js) on a loopback port, with its log in
 * a file. kill() is SIGKILL (a crash), stop() is SIGTERM then SIGKILL after a bound, start() after
 * either brings it back on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { wrapCommand } from '@session-auth/topology';
import { closeSync, openSync } from 'node:fs';
import { pollUntil, sleep } from '../util.js';

export interface AppSpec {
  name: string;
  port: number;
  mainJs: string;
  logFile: string;
  env: Record<string, string>;
  /** Address it listens on (default 127.0.0.1; a lab address on the netns network). */
  host?: string;
  /** Command prefix it runs under (`ip netns exec <ns>`, which execs: the pid stays node's). */
  execPrefix?: readonly string[];
}

export interface AppProcess {
  readonly name: string;
  readonly port: number;
  readonly host: string;
  readonly url: string;
  readonly logFile: string;
  pid(): number | undefined;
  running(): boolean;
  start(readyTimeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  stop(timeoutMs?: number): Promise<void>;
}

const children = new Set<ChildProcess>();
let reaperInstalled = false;
function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  // Backstop: whatever still runs when this process exits is killed by pid.
  process.once('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
}

class ManagedApp implements AppProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly spec: AppSpec) {}

  get name(): string {
    return this.spec.name;
  }
  get port(): number {
    return this.spec.port;
  }
  get host(): string {
    return this.spec.host ?? '127.0.0.1';
  }
  get url(): string {
    return `http://${this.host}:${this.spec.port}`;
  }
  get logFile(): string {
    return this.spec.logFile;
  }
  pid(): number | undefined {
    return this.running() ? this.child?.pid : undefined;
  }
  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(readyTimeoutMs = 20_000): Promise<void> {
    if (this.running()) return;
    installReaper();
    const fd = openSync(this.spec.logFile, 'a');
    // setpriv --pdeathsig KILL: the kernel kills the app when its owner dies, even by SIGKILL.
    // setpriv execs, so the pid is node's own.
    const argv = [...(this.spec.execPrefix ?? []), process.execPath, this.spec.mainJs];
    const [cmd, args] = wrapCommand(argv);
    const child = spawn(cmd, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...this.spec.env, PORT: String(this.spec.port), HOST: this.host },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.child = child;
    children.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        children.delete(child);
        resolve();
      });
      child.once('error', () => resolve());
    });
    try {
      await pollUntil(
        `${this.spec.name} /healthz on port ${this.spec.port}`,
        async () => {
          if (!this.running()) throw new Error(`${this.spec.name} exited (see ${this.spec.logFile})`);
          const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(500) });
          await res.arrayBuffer();
          return res.ok ? true : undefined;
        },
        readyTimeoutMs,
        100,
      );
    } catch (err) {
      await this.kill();
      throw err;
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running()) return;
    this.child?.kill(signal);
    await this.exited;
  }

  async stop(timeoutMs = 5_000): Promise<void> {
    if (!this.running()) return;
    this.child?.kill('SIGTERM');
    const graceful = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (!graceful) await this.kill('SIGKILL');
  }
}

export function createApp(spec: AppSpec): AppProcess {
  return new ManagedApp(spec);
}
