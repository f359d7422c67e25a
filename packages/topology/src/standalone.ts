import { requireBinary } from './binaries.js';
import { dataNodeProcess } from './data-node.js';
import { makeBaseDir, removeDir } from './dirs.js';
import { LOOPBACK } from './ports.js';
import type { RedisProcess } from './process.js';

export interface StandaloneOptions {
  /** Where the node's dir goes. Default: a temp dir, deleted by stop(); a given dir is kept. */
  baseDir?: string;
  /** AOF on (default off: a standalone test server needs no durability). */
  appendonly?: boolean;
  password?: string;
  /** Raw redis.conf lines appended last (they override the harness's). */
  extraConfig?: string[];
  /** Node name (default "redis"). */
  name?: string;
  /** Keep the temp base dir after stop() (logs, data) for debugging. */
  keepDir?: boolean;
}

export interface Standalone {
  redis: RedisProcess;
  /** redis://[:password@]127.0.0.1:port */
  url: string;
  stop(): Promise<void>;
}

export async function startStandalone(opts: StandaloneOptions = {}): Promise<Standalone> {
  const binary = requireBinary('redis-server');
  const base = makeBaseDir(opts.baseDir, 'session-auth-redis-');
  const name = opts.name ?? 'redis';
  const redis = await dataNodeProcess(
    { name, binary, baseDir: base.dir, password: opts.password },
    {
      appendonly: opts.appendonly ?? false,
      password: opts.password,
      // Alone, a node has no replicas to wait for.
      minReplicasToWrite: 0,
      minReplicasMaxLagSeconds: 10,
      extraConfig: opts.extraConfig,
    },
  );
  try {
    await redis.start();
  } catch (err) {
    if (base.owned) removeDir(base.dir);
    throw err;
  }
  const auth = opts.password !== undefined ? `:${encodeURIComponent(opts.password)}@` : '';
  return {
    redis,
    // The port is only final after start (it may be re-picked on a collision).
    url: `redis://${auth}${LOOPBACK}:${redis.port}`,
    async stop() {
      await redis.stop();
      if (base.owned && !opts.keepDir) removeDir(base.dir);
    },
  };
}
