import argon2 from 'argon2';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.js';

export interface Argon2Params {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/** Where the argon2 work runs. The caller bounds the concurrency (users/password.ts, Limiter). */
export interface Argon2Runner {
  hash(password: string, params: Argon2Params): Promise<string>;
  /** False for a wrong password and for a stored hash argon2 cannot parse; throws only when the runner failed. */
  verify(hash: string, password: string): Promise<boolean>;
  close(): Promise<void>;
}

/** argon2 on this process's libuv pool: the threads compete with the event loop as equals. */
export function inlineRunner(): Argon2Runner {
  return {
    hash: (password, params) => argon2.hash(password, { type: argon2.argon2id, ...params }),
    verify: (hash, password) => argon2.verify(hash, password).catch(() => false),
    close: async () => {},
  };
}

/** What the child answers (argon2-child.ts). */
export type ChildReply =
  | { readonly type: 'ready'; readonly nice: number; readonly policy: 'idle' | 'other' }
  | { readonly type: 'done'; readonly id: number; readonly value: string | boolean }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };

export type ChildRequest =
  | { readonly id: number; readonly op: 'hash'; readonly password: string; readonly params: Argon2Params }
  | { readonly id: number; readonly op: 'verify'; readonly password: string; readonly hash: string };

export interface ProcessRunnerOptions {
  /** Run the child's threads under SCHED_IDLE where the platform allows (argon2-child.ts). */
  readonly idle: boolean;
  /** Nice value of the child's threads (0-19): the share they get when SCHED_IDLE is off or refused. */
  readonly nice: number;
  /** libuv pool size of the child: at least the caller's concurrency bound. */
  readonly threads: number;
  /** An unexpected exit (not close()): the next call starts a new child. */
  readonly onExit?: (info: { code: number | null; signal: NodeJS.Signals | null; failed: number }) => void;
  readonly onReady?: (info: { pid: number; nice: number; policy: 'idle' | 'other' }) => void;
}

/**
 * argon2 in one child process whose threads run at the lowest CPU priority. The service's costly
 * work is argon2 (tens of ms of CPU per login), its latency-critical work is session validation on
 * the event loop; in one process, under a login storm, the kernel shares the cores between the two
 * as equals and validation p99 grows with the storm (bench/results.md, "Login"). The child gets the
 * CPU validation leaves (all of it when validation is quiet): under a storm logins slow down
 * before validation does. Its ~20 MiB per hash live outside the service's heap. Passwords cross a
 * private IPC pipe only; the child gets no secret from the environment.
 */
export class ProcessRunner implements Argon2Runner {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, { resolve: (v: string | boolean) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: ProcessRunnerOptions) {}

  /** The child's pid once started (tests and operators look at its priority). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Calls sent to the child and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  async hash(password: string, params: Argon2Params): Promise<string> {
    return (await this.call({ op: 'hash', password, params })) as string;
  }

  async verify(hash: string, password: string): Promise<boolean> {
    return (await this.call({ op: 'verify', password, hash })) === true;
  }

  private call(req: { op: 'hash'; password: string; params: Argon2Params } | { op: 'verify'; password: string; hash: string }): Promise<string | boolean> {
    if (this.closed) return Promise.reject(new AppError('BUSY', { retryAfter: 1, message: 'password hasher closed' }));
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // Held while a call waits (a script awaiting a hash must not exit under it); idle, the
      // hasher keeps no process alive.
      if (this.pending.size === 0) child.channel?.ref();
      this.pending.set(id, { resolve, reject });
      child.send({ ...req, id } satisfies ChildRequest, (err) => {
        if (err) this.settle(id, undefined, new AppError('BUSY', { retryAfter: 1, cause: err }));
      });
    });
  }

  private settle(id: number, value: string | boolean | undefined, err?: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.child?.channel?.unref();
    if (err) p.reject(err);
    else p.resolve(value!);
  }

  private start(): ChildProcess {
    // Sources run under vitest/tsx (.ts), the image runs dist (.js): the child is the sibling file.
    const ts = import.meta.url.endsWith('.ts');
    const entry = fileURLToPath(new URL(`./argon2-child.${ts ? 'ts' : 'js'}`, import.meta.url));
    const child = fork(entry, [], {
      // Not the parent's flags: --inspect would collide on its port, --cpu-prof profile the child.
      execArgv: ts ? ['--import', 'tsx'] : [],
      env: {
        PATH: process.env.PATH ?? '',
        UV_THREADPOOL_SIZE: String(Math.max(4, this.opts.threads)),
        ARGON2_CHILD_NICE: String(this.opts.nice),
        ARGON2_CHILD_IDLE: String(this.opts.idle),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    child.on('message', (m: ChildReply) => {
      if (m.type === 'ready') this.opts.onReady?.({ pid: child.pid!, nice: m.nice, policy: m.policy });
      else if (m.type === 'done') this.settle(m.id, m.value);
      else this.settle(m.id, undefined, new Error(m.message));
    });
    const gone = (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.child !== child) return;
      this.child = undefined;
      const failed = this.pending.size;
      for (const id of [...this.pending.keys()]) this.settle(id, undefined, new AppError('BUSY', { retryAfter: 1, message: 'password hasher exited' }));
      if (!this.closed) this.opts.onExit?.({ code, signal, failed });
    };
    child.on('exit', gone);
    child.on('error', () => gone(null, null));
    child.unref();
    child.channel?.unref();
    return child;
  }

  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}
