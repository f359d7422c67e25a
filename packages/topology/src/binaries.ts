import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export type RedisBinary = 'redis-server' | 'redis-sentinel';

/** Thrown when a Redis binary is not on PATH; the message says how to install it. */
export class MissingBinaryError extends Error {
  readonly code = 'MISSING_BINARY';
  readonly binary: RedisBinary;

  constructor(binary: RedisBinary, searched: string) {
    // Debian/Ubuntu ship the two binaries in separate packages named after them.
    super(
      `${binary} was not found on PATH (${searched || 'empty'}); install it with: sudo apt-get install ${binary}` +
        ' (Redis 7 or newer), or put its directory on PATH',
    );
    this.name = 'MissingBinaryError';
    this.binary = binary;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves a Redis binary from PATH to an absolute path.
 * The search path is a parameter so callers (and tests) need not mutate process.env.
 */
export function requireBinary(name: RedisBinary, searchPath: string = process.env.PATH ?? ''): string {
  const found = findOnPath(name, searchPath);
  if (found === undefined) throw new MissingBinaryError(name, searchPath);
  return found;
}

function findOnPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

let setprivPath: string | null | undefined;

/**
 * util-linux `setpriv --pdeathsig KILL` makes the kernel SIGKILL the Redis process when the Node
 * process that spawned it dies, even by SIGKILL, where no exit handler can run. setpriv execs the
 * target, so the pid we hold is Redis's own. Absent (non-Linux, minimal images) we spawn directly
 * and rely on the exit handlers alone.
 */
export function deathSignalWrapper(): string | null {
  if (setprivPath === undefined) {
    if (process.platform !== 'linux' || process.env.TOPOLOGY_NO_PDEATHSIG === '1') {
      setprivPath = null;
    } else {
      setprivPath = findOnPath('setpriv', process.env.PATH ?? '') ?? null;
    }
  }
  return setprivPath;
}

/** `argv` under the death-signal wrapper when there is one: [command, args] for spawn(). */
export function wrapCommand(argv: readonly string[]): [string, string[]] {
  const wrapper = deathSignalWrapper();
  const [first, ...rest] = argv;
  if (first === undefined) throw new Error('empty command');
  return wrapper ? [wrapper, ['--pdeathsig', 'KILL', first, ...rest]] : [first, rest];
}
