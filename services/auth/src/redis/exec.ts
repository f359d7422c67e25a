import type { Script } from './scripts.js';

/**
 * The narrow slice of node-redis the stores use: raw commands. Standalone clients, pools,
 * Sentinel and Sentinel leases all fit behind it, and raw sendCommand skips node-redis's per-
 * command reply transforms on the hot path.
 */
export interface RedisExec {
  send<T = unknown>(args: string[], opts?: { readonly?: boolean }): Promise<T>;
}

/** EVALSHA, falling back to EVAL when the server has not seen the script (fresh primary after failover). */
export async function runScript<T>(exec: RedisExec, s: Script, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
  const tail = [String(keys.length), ...keys, ...args.map(String)];
  try {
    return await exec.send<T>(['EVALSHA', s.sha1, ...tail]);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
      return exec.send<T>(['EVAL', s.source, ...tail]);
    }
    throw err;
  }
}
