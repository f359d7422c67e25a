import { renderRedisConfig, type DataNodeConfig } from './config.js';
import { nodeDir } from './dirs.js';
import { freePort, LOOPBACK } from './ports.js';
import { ManagedProcess } from './process.js';

/** What a data node's redis.conf says beyond where it listens, lives and logs. */
export type DataNodeSettings = Omit<DataNodeConfig, 'host' | 'port' | 'dir' | 'logFile'>;

/**
 * One redis-server data node under `baseDir/name`, on a free port (not started yet): on loopback,
 * or at `host` run through `execPrefix` (a network namespace of the netns platform).
 */
export async function dataNodeProcess(
  o: { name: string; binary: string; baseDir: string; password?: string | undefined; host?: string; execPrefix?: readonly string[] | undefined },
  settings: DataNodeSettings,
): Promise<ManagedProcess> {
  const dir = nodeDir(o.baseDir, o.name);
  const host = o.host ?? LOOPBACK;
  return new ManagedProcess({
    name: o.name,
    kind: 'redis',
    binary: o.binary,
    dir,
    port: await freePort(),
    configFileName: 'redis.conf',
    password: o.password,
    host,
    execPrefix: o.execPrefix,
    renderConfig: (port, logFile) => renderRedisConfig({ host, port, dir, logFile, ...settings }),
  });
}
