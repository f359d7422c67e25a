import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { wrapCommand } from './binaries.js';
import { DATA_FILES } from './config.js';
import { freePort, LOOPBACK } from './ports.js';
import { exchange, parseInfo, RespError, type Endpoint } from './resp.js';

export type ProcessKind = 'redis' | 'sentinel';

export interface StartOptions {
  /** Delete the RDB and AOF files before starting, so the node comes up with no data. */
  emptyData?: boolean;
}

export interface RedisProcess {
  readonly name: string;
  readonly kind: ProcessKind;
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  readonly configFile: string;
  pid(): number | undefined;
  running(): boolean;
  /** Default SIGKILL. Resolves when the process has exited; for SIGSTOP/SIGCONT once delivered. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** (Re)start on the same port and dir; resolves when it answers PING. No-op if running. */
  start(opts?: StartOptions): Promise<void>;
  /** SIGTERM, then SIGKILL after a bound. Idempotent. */
  stop(): Promise<void>;
  /** SIGSTOP: the process keeps its sockets but answers nothing (a hung server). */
  pause(): Promise<void>;
  /** SIGCONT after pause(). */
  resume(): Promise<void>;
  /** Last lines of the log file, for error messages and reports. */
  logTail(lines?: number): string;
}

export interface ProcessSpec {
  name: string;
  kind: ProcessKind;
  binary: string;
  dir: string;
  /** Port to try first; may be replaced (before the first successful start only) if taken. */
  port: number;
  configFileName: string;
  renderConfig(port: number, logFile: string): string;
  password?: string | undefined;
  /** Address it binds and is reached at (default 127.0.0.1; a lab address for netns nodes). */
  host?: string | undefined;
  /** Command prefix it runs under (e.g. `ip netns exec <ns>`); it must exec, so the pid stays the program's. */
  execPrefix?: readonly string[] | undefined;
  readyTimeoutMs?: number | undefined;
  stopTimeoutMs?: number | undefined;
}

// ---------------------------------------------------------------------------------------------
// Process-wide reaper. Every child we spawn is in `live` until its exit event; on process exit or
// a fatal signal each is SIGKILLed by pid, so a crashed or interrupted test run leaks nothing.
// (SIGKILL of Node itself is covered by setpriv --pdeathsig where available, see binaries.ts.)
// ---------------------------------------------------------------------------------------------
const live = new Set<ChildProcess>();
let reaperInstalled = false;
const exitHooks = new Set<() => void>();

/**
 * A synchronous cleanup that runs when the reaper runs (process exit, or a fatal signal nobody
 * else handles), after every child is killed: e.g. deleting network namespaces. Returns an
 * unregister function.
 */
export function onProcessExit(hook: () => void): () => void {
  installReaper();
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}

function killAllSync(): void {
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  for (const hook of [...exitHooks]) {
    exitHooks.delete(hook);
    try {
      hook();
    } catch {
      // Best effort at exit: a failing hook must not keep the others from running.
    }
  }
}

function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // Another listener (e.g. `npm run up` stopping gracefully) owns the shutdown; the exit
      // handler above still backs it up. Alone, we must not swallow the signal: clean up and
      // re-raise it so the process dies the way it would have without us.
      if (process.listenerCount(signal) > 1) return;
      killAllSync();
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Pids of every child still running in this Node process (for leak checks). */
export function livePids(): number[] {
  return [...live].flatMap((c) => (c.pid !== undefined && c.exitCode === null && c.signalCode === null ? [c.pid] : []));
}

/** True when a pid exists at all (signal 0 probes without signalling). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const NON_TERMINATING = new Set<NodeJS.Signals>(['SIGSTOP', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGWINCH']);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class PortInUseError extends Error {}

export class ManagedProcess implements RedisProcess {
  readonly name: string;
  readonly kind: ProcessKind;
  readonly host: string;
  readonly dir: string;
  readonly logFile: string;
  readonly configFile: string;

  private currentPort: number;
  private everStarted = false;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private exitInfo = '';
  private startChain: Promise<void> = Promise.resolve();
  private readonly spec: ProcessSpec;

  constructor(spec: ProcessSpec) {
    this.spec = spec;
    this.name = spec.name;
    this.kind = spec.kind;
    this.host = spec.host ?? LOOPBACK;
    this.dir = spec.dir;
    this.currentPort = spec.port;
    this.logFile = join(spec.dir, `${spec.kind === 'sentinel' ? 'sentinel' : 'redis'}.log`);
    this.configFile = join(spec.dir, spec.configFileName);
  }

  get port(): number {
    return this.currentPort;
  }

  get endpoint(): Endpoint {
    return { host: this.host, port: this.currentPort, password: this.spec.password };
  }

  pid(): number | undefined {
    const c = this.child;
    return c && c.pid !== undefined && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
  }

  running(): boolean {
    return this.pid() !== undefined;
  }

  start(opts: StartOptions = {}): Promise<void> {
    // Serialised so two concurrent start() calls cannot spawn two servers on one port.
    const run = this.startChain.then(() => this.startNow(opts));
    this.startChain = run.catch(() => undefined);
    return run;
  }

  private async startNow(opts: StartOptions): Promise<void> {
    if (this.running()) {
      if (opts.emptyData) throw new Error(`${this.name}: cannot empty data of a running process; kill it first`);
      await this.waitReady(this.child as ChildProcess, 0);
      return;
    }
    if (opts.emptyData) this.deleteData();
    if (!this.everStarted) {
      // A port from freePort() can be taken by another test file before we bind it. Nothing else
      // knows this node's port yet, so pick a new one and rewrite the config.
      for (let attempt = 0; ; attempt++) {
        writeFileSync(this.configFile, this.spec.renderConfig(this.currentPort, this.logFile));
        try {
          await this.spawnAndWait();
          break;
        } catch (err) {
          if (!(err instanceof PortInUseError) || attempt >= 4) throw err;
          this.currentPort = await freePort();
        }
      }
      this.everStarted = true;
      return;
    }
    // Restart: the port is part of the topology now (replicas and sentinels point at it). It is
    // normally free again at once (Redis sets SO_REUSEADDR); retry briefly if something grabbed it.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.spawnAndWait();
        return;
      } catch (err) {
        if (!(err instanceof PortInUseError) || attempt >= 10) throw err;
        await sleep(200);
      }
    }
  }

  private deleteData(): void {
    for (const f of [DATA_FILES.rdb, DATA_FILES.aofDir, DATA_FILES.legacyAof]) {
      rmSync(join(this.dir, f), { recursive: true, force: true });
    }
  }

  private async spawnAndWait(): Promise<void> {
    installReaper();
    const logOffset = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const fd = openSync(this.logFile, 'a');
    const [cmd, args] = wrapCommand([...(this.spec.execPrefix ?? []), this.spec.binary, this.configFile]);
    let child: ChildProcess;
    try {
      // stdout/stderr go to the same file as `logfile`: both append, and early failures (a bad
      // config line) are printed to stderr before Redis opens its log.
      child = spawn(cmd, args, { cwd: this.dir, stdio: ['ignore', fd, fd], detached: false });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.exitInfo = '';
    live.add(child);
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
        resolve();
      });
      child.once('error', (err) => {
        // Spawn failure: no exit event follows.
        if (child.pid === undefined) {
          live.delete(child);
          this.exitInfo = `failed to spawn: ${err.message}`;
          resolve();
        }
      });
    });
    try {
      await this.waitReady(child, logOffset);
    } catch (err) {
      if (this.child === child && this.running()) {
        child.kill('SIGKILL');
        await this.exited;
      }
      throw err;
    }
  }

  private async waitReady(child: ChildProcess, logOffset: number): Promise<void> {
    const timeoutMs = this.spec.readyTimeoutMs ?? 15_000;
    const deadline = Date.now() + timeoutMs;
    let lastError = 'no attempt made';
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null || (child.pid === undefined && this.exitInfo)) {
        const tail = this.logTail(40, logOffset);
        if (/Address already in use/i.test(tail)) {
          throw new PortInUseError(`${this.name}: port ${this.currentPort} already in use`);
        }
        throw new Error(
          `${this.name} (${this.kind}) ${this.exitInfo || 'exited'} during startup on port ${this.currentPort}; ` +
            `log ${this.logFile}:\n${tail}`,
        );
      }
      try {
        const [pong, info] = await exchange(this.endpoint, [['PING'], ['INFO', 'server']], 500);
        if (pong === 'PONG') {
          // Another test file may have bound "our" port first; only our own pid counts as ready.
          const pid = Number(parseInfo(info ?? null).process_id);
          if (pid === child.pid) return;
          lastError = `port ${this.currentPort} answered from pid ${pid}, not ours (${child.pid})`;
        } else {
          lastError = pong instanceof RespError ? pong.message : `unexpected reply ${JSON.stringify(pong)}`;
        }
      } catch (err) {
        lastError = (err as Error).message;
      }
      await Promise.race([sleep(50), this.exited]);
    }
    throw new Error(
      `${this.name} (${this.kind}) did not answer PING on ${this.host}:${this.currentPort} within ${timeoutMs} ms ` +
        `(last: ${lastError}); log ${this.logFile}:\n${this.logTail(40, logOffset)}`,
    );
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    this.signalQuietly(pid, signal);
    if (NON_TERMINATING.has(signal)) return;
    // A frozen (SIGSTOPped) process would sit on a SIGTERM until continued.
    if (signal !== 'SIGKILL') this.signalQuietly(pid, 'SIGCONT');
    const bound = signal === 'SIGKILL' ? 10_000 : (this.spec.stopTimeoutMs ?? 10_000);
    const exited = await Promise.race([this.exited.then(() => true), sleep(bound).then(() => false)]);
    if (!exited) throw new Error(`${this.name} (pid ${pid}) did not exit within ${bound} ms of ${signal}`);
  }

  async stop(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    this.signalQuietly(pid, 'SIGTERM');
    this.signalQuietly(pid, 'SIGCONT');
    const bound = this.spec.stopTimeoutMs ?? 5_000;
    const exited = await Promise.race([this.exited.then(() => true), sleep(bound).then(() => false)]);
    if (!exited) {
      this.signalQuietly(pid, 'SIGKILL');
      await this.exited;
    }
  }

  async pause(): Promise<void> {
    await this.kill('SIGSTOP');
  }

  async resume(): Promise<void> {
    await this.kill('SIGCONT');
  }

  private signalQuietly(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(pid, signal);
    } catch {
      // Exited in between; the exit event settles everything.
    }
  }

  logTail(lines = 40, fromOffset = 0): string {
    try {
      const size = statSync(this.logFile).size;
      const start = Math.max(fromOffset, size - 8192);
      const len = size - start;
      if (len <= 0) return '(log empty)';
      const buf = Buffer.alloc(len);
      const fd = openSync(this.logFile, 'r');
      try {
        readSync(fd, buf, 0, len, start);
      } finally {
        closeSync(fd);
      }
      return buf.toString('utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
    } catch {
      return '(no log file)';
    }
  }
}
