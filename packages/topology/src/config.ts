/**
 * Renders redis.conf / sentinel.conf. Every knob that differs from the Redis default, or that a
 * reader might wonder about, says why next to it. The README repeats the table.
 */

/** Quotes a config argument the way redis.conf's parser (sdssplitargs) reads it back. */
export function quote(value: string | number): string {
  return `"${String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

export const DATA_FILES = { rdb: 'dump.rdb', aofDir: 'appendonlydir', legacyAof: 'appendonly.aof' } as const;

export interface DataNodeConfig {
  host: string;
  port: number;
  dir: string;
  logFile: string;
  appendonly: boolean;
  password?: string | undefined;
  replicaOf?: { host: string; port: number } | undefined;
  minReplicasToWrite: number;
  minReplicasMaxLagSeconds: number;
  extraConfig?: readonly string[] | undefined;
}

/** The lines every process of the harness starts with: where it listens, lives and logs. */
function processLines(c: { host: string; port: number; dir: string; logFile: string }): string[] {
  return [
    `bind ${c.host}`,
    `port ${c.port}`,
    // Loopback only, and the harness may run without a password: protected mode would refuse
    // the sentinels' and the tests' connections for no gain.
    'protected-mode no',
    // The harness owns the process lifetime (pid, signals, exit events); a daemon would detach.
    'daemonize no',
    `dir ${quote(c.dir)}`,
    `logfile ${quote(c.logFile)}`,
    'loglevel notice',
  ];
}

export function renderRedisConfig(c: DataNodeConfig): string {
  const lines: string[] = [
    '# Written by @session-auth/topology. CONFIG REWRITE (issued by Sentinel on failover) may edit it.',
    ...processLines(c),
    // No RDB snapshots: forks cost seconds of CPU on a 2-core box and make failover timings noisy.
    // Durability, where wanted, comes from the AOF below; replication needs no local RDB.
    'save ""',
    `dbfilename ${DATA_FILES.rdb}`,
    `appenddirname ${DATA_FILES.aofDir}`,
    `appendonly ${c.appendonly ? 'yes' : 'no'}`,
    // Redis' default: at most ~1 s of acknowledged writes lost on a crash of this node. What a
    // failover loses is governed by replication (WAIT), not by this.
    'appendfsync everysec',
    // Default is 5 s of waiting for more replicas before a diskless full sync starts; every
    // (re)start of a replica would pay it. Zero makes topologies healthy and rejoins fast.
    'repl-diskless-sync yes',
    'repl-diskless-sync-delay 0',
    // A primary refuses writes (NOREPLICAS) unless this many replicas acknowledged within
    // min-replicas-max-lag seconds. It bounds how much a partitioned old primary can accept that a
    // failover then discards. Set on every data node because any of them may be promoted.
    `min-replicas-to-write ${c.minReplicasToWrite}`,
    `min-replicas-max-lag ${c.minReplicasMaxLagSeconds}`,
    // Default priority (100) everywhere: any replica may be promoted; Sentinel picks the one
    // with the largest replication offset, which is what loses the least data.
    'replica-priority 100',
    // Stale reads are allowed while a replica resyncs, as in production defaults; the store's
    // read path decides whether to use replicas at all.
    'replica-serve-stale-data yes',
    'replica-read-only yes',
  ];
  if (c.password !== undefined) {
    // masterauth on every node too: after a failover the old primary becomes a replica and must
    // authenticate to the new one.
    lines.push(`requirepass ${quote(c.password)}`, `masterauth ${quote(c.password)}`);
  }
  if (c.replicaOf) lines.push(`replicaof ${c.replicaOf.host} ${c.replicaOf.port}`);
  // Last, so they override anything above (redis.conf: the last occurrence wins).
  for (const line of c.extraConfig ?? []) lines.push(line);
  return `${lines.join('\n')}\n`;
}

export interface SentinelConfig {
  host: string;
  port: number;
  dir: string;
  logFile: string;
  masterName: string;
  master: { host: string; port: number };
  quorum: number;
  downAfterMs: number;
  failoverTimeoutMs: number;
  masterPassword?: string | undefined;
  sentinelPassword?: string | undefined;
}

export function renderSentinelConfig(c: SentinelConfig): string {
  const m = c.masterName;
  const lines: string[] = [
    '# Written by @session-auth/topology. Sentinel rewrites this file with its state (myid,',
    '# epochs, known replicas and sentinels); it must stay writable and is not regenerated on restart.',
    ...processLines(c),
    // Addresses are loopback IPs; never resolve or announce hostnames.
    'sentinel resolve-hostnames no',
    'sentinel announce-hostnames no',
    // Quorum: how many sentinels must agree the primary is down (ODOWN). A failover still needs
    // a majority of all sentinels to elect a leader, so 2 of 3 tolerates one sentinel lost.
    `sentinel monitor ${m} ${c.master.host} ${c.master.port} ${c.quorum}`,
    // 1 s, far below the 30 s default: on loopback a missed PING means the process is gone, and
    // chaos experiments want detection quickly. In a real network this would cause false failovers.
    `sentinel down-after-milliseconds ${m} ${c.downAfterMs}`,
    // Bounds one failover attempt and spaces retries (2x this); 10 s is ample on loopback and keeps
    // a failed attempt from stalling an experiment for the 3-minute default.
    `sentinel failover-timeout ${m} ${c.failoverTimeoutMs}`,
    // Resync replicas to the new primary one at a time so one always keeps serving (stale) reads.
    `sentinel parallel-syncs ${m} 1`,
  ];
  if (c.masterPassword !== undefined) lines.push(`sentinel auth-pass ${m} ${quote(c.masterPassword)}`);
  if (c.sentinelPassword !== undefined) {
    // Sentinels authenticate to each other with their own requirepass.
    lines.push(`requirepass ${quote(c.sentinelPassword)}`, `sentinel sentinel-pass ${quote(c.sentinelPassword)}`);
  }
  return `${lines.join('\n')}\n`;
}
