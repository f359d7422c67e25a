import { createHash } from 'node:crypto';

/** A Lua script with its SHA1, for EVALSHA (runScript in exec.ts falls back to EVAL). */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

/**
 * The one way to declare a script. The scripts themselves live beside the code that owns them
 * (sessions/redis-scripts.ts, users/scripts.ts, security/throttle-scripts.ts, replication/scripts.ts).
 */
export function script(name: string, source: string): Script {
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}
