import { createClientPool, createCluster, ErrorReply } from 'redis';
import { agreedReplicaRead } from './replica-read.js';
import { oncePer, type Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { nodeClientOptions, pingAndReport, waitForReplicas, type RedisConnection, type RedisSettings } from './connection.js';
import { withDeadline } from './deadline.js';
import type { RedisExec } from './exec.js';
import { keySlot } from './slot-tag.js';
import { StoreError } from '../errors.js';

export interface ClusterSettings extends Omit<RedisSettings, 'url'> {
  /** Seed nodes; the client discovers the rest (CLUSTER SLOTS). */
  readonly nodes: readonly { host: string; port: number }[];
}

/** The key a command is routed by (the first one; every command the stores send touches one slot). */
function firstKey(args: readonly string[]): string | undefined {
  const cmd = (args[0] ?? '').toUpperCase();
  if (cmd === 'EVALSHA' || cmd === 'EVAL') return Number(args[2]) > 0 ? args[3] : undefined;
  if (cmd === 'PING' || cmd === 'WAIT' || cmd === 'ASKING' || cmd === 'INFO') return undefined;
  return args[1];
}

/**
 * A client redirected mid-migration (ASK) or after one (MOVED); TRYAGAIN: a multi-key command caught
 * half-moved. All three are server replies (ErrorReply, as in errors.ts): nothing else is a redirect.
 */
function redirectOf(err: unknown): { address: string; asking: boolean } | 'retry' | undefined {
  if (!(err instanceof ErrorReply)) return undefined;
  const msg = err.message;
  const m = /^(MOVED|ASK) \d+ (\S+)/.exec(msg);
  if (m) return { address: m[2]!, asking: m[1] === 'ASK' };
  return msg.startsWith('TRYAGAIN') ? 'retry' : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Lease = { client: { sendCommand(args: string[]): Promise<unknown> }; release(): void };
interface PoolLike {
  execute<R>(fn: (client: { sendCommand(args: string[]): Promise<unknown> }) => Promise<R>): Promise<R>;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  on(event: 'error', cb: () => void): unknown;
}

/** One pooled connection, held until release(): a durable write and its WAIT share it. */
function lease(pool: PoolLike): Promise<Lease> {
  return new Promise((resolve, reject) => {
    pool.execute((client) => new Promise<void>((release) => resolve({ client, release: () => release() }))).catch(reject);
  });
}

/**
 * SESSION_STORE=cluster: node-redis's cluster client (slot map, MOVED/ASK, topology refresh)
 * for reads and plain writes; durable writes on a small exclusive pool per shard primary, so
 * their WAIT blocks no shared connection and counts the write it follows (WAIT covers only its
 * own connection's writes). Every key a durable write touches is in one slot (the user's hash
 * tag), so one primary and its replicas are all it involves.
 */
export function createClusterConnection(s: ClusterSettings, logger: Logger, metrics: Metrics): RedisConnection {
  const defaults = nodeClientOptions(s, { host: s.nodes[0]?.host ?? '127.0.0.1', port: s.nodes[0]?.port ?? 6379 });
  const { socket, ...rest } = defaults;
  const cluster = createCluster({
    rootNodes: s.nodes.map((n) => ({ socket: { host: n.host, port: n.port, connectTimeout: s.connectTimeoutMs } })),
    defaults: { ...rest, socket: { connectTimeout: socket.connectTimeout, reconnectStrategy: socket.reconnectStrategy } },
    // Replica connections (READONLY) serve reads only when a shard's primary cannot: replicaGet.
    useReplicas: true,
    // A primary that keeps failing to reconnect makes the client re-read the slot map this soon,
    // so the promoted replica is found within a fraction of a second of its election (default 5 s).
    topologyRefreshOnReconnectionAttemptStrategy: 200,
    commandOptions: { timeout: 0 },
  });
  const logGate = oncePer(1000);
  const onError = (err: Error) => {
    if (logGate()) logger.warn({ err: { message: err.message, name: err.name } }, 'redis cluster error');
  };
  cluster.on('error', onError);
  // node-redis re-reads the slot map only on MOVED or a node reconnecting. Replicas are listed by
  // CLUSTER SLOTS only once they have replicated something, so a client that connected to a fresh
  // cluster would never learn of them (no replica reads in a failover, a WAIT count of 0): re-read
  // it every few seconds as well, the way ioredis's slotsRefreshInterval does.
  // The set of primaries changing is a failover (RedisFailoverHappened alerts on it, as for Sentinel).
  let primaries: string | undefined;
  const refresh = setInterval(() => {
    if (!cluster.isReady) return;
    const now = cluster.masters.map((m) => m.address).sort().join(',');
    if (primaries !== undefined && now !== primaries) {
      metrics.primaryChanges.inc();
      logger.warn({ primaries: now }, 'redis cluster primaries changed');
    }
    primaries = now;
    cluster._slots.rediscover().catch(() => {});
    void reportUncoveredSlots();
  }, 2000);
  // A shard whose primary is down and not (yet) replaced: every node's CLUSTER INFO counts its
  // slots as pfail/fail, which no client-side slot map shows (CLUSTER SLOTS keeps listing a failed
  // primary). The first primary that answers speaks for the cluster.
  async function reportUncoveredSlots(): Promise<void> {
    for (const m of cluster.masters) {
      try {
        const client = await withDeadline('cluster_info', s.commandTimeoutMs, cluster.nodeClient(m));
        const info = String(await withDeadline('cluster_info', s.commandTimeoutMs, client.sendCommand(['CLUSTER', 'INFO']) as Promise<unknown>));
        const count = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
        metrics.clusterSlotsWithoutPrimary.set(count('cluster_slots_pfail') + count('cluster_slots_fail'));
        return;
      } catch {
        // that primary is the one down, or busy: ask the next
      }
    }
  }
  refresh.unref();
  cluster.on('node-error', onError);
  const ready = new Promise<void>((resolve) => {
    const attempt = (): void => {
      cluster.connect().then(
        () => {
          metrics.storeReady.set(1);
          logger.info({ primaries: cluster.masters.length }, 'redis cluster connected');
          resolve();
        },
        (err: Error) => {
          onError(err);
          setTimeout(attempt, 500).unref();
        },
      );
    };
    attempt();
  });

  const send = (args: string[], readonly: boolean) => {
    // Before the first discovery the client throws synchronously ("not ready"): a fast 503.
    try {
      return cluster.sendCommand(firstKey(args), readonly, args) as Promise<never>;
    } catch (err) {
      return Promise.reject(err);
    }
  };
  const exec: RedisExec = {
    send: (args) => withDeadline(args[0] ?? 'command', s.commandTimeoutMs, send(args, false)),
  };

  const pools = new Map<string, PoolLike>();
  const poolFor = (address: string): PoolLike => {
    let pool = pools.get(address);
    if (!pool) {
      const i = address.lastIndexOf(':');
      pool = createClientPool(nodeClientOptions(s, { host: address.slice(0, i), port: Number(address.slice(i + 1)) }), {
        minimum: 1,
        maximum: 4,
        acquireTimeout: s.commandTimeoutMs,
      }) as unknown as PoolLike;
      pool.on('error', () => {});
      pool.connect().catch(() => {});
      pools.set(address, pool);
    }
    return pool;
  };
  const shardOf = (slot: number) => cluster.slots[slot];

  /** One attempt at `fn` + WAIT on the primary at `address` (or the slot's primary when undefined). */
  async function durableOnce<T>(op: string, fn: (e: RedisExec) => Promise<T>, redirect: { address: string; asking: boolean } | undefined) {
    let leased: Lease | undefined;
    let slot: number | undefined;
    const leasedExec: RedisExec = {
      send: async (args) => {
        const key = firstKey(args);
        if (!leased) {
          if (key === undefined) throw new Error(`${op}: a durable write must start with a keyed command`);
          slot = keySlot(key);
          const master = shardOf(slot)?.master;
          const address = redirect?.address ?? (master ? `${master.host}:${master.port}` : undefined);
          if (!address) throw new StoreError(op, 'unavailable', `${op}: no primary known for slot ${slot}`);
          leased = await lease(poolFor(address));
        }
        // ASKING is one-shot: it admits the next command to a slot being imported.
        if (redirect?.asking && key !== undefined) await leased.client.sendCommand(['ASKING']);
        return leased.client.sendCommand(args) as Promise<never>;
      },
    };
    try {
      const result = await fn(leasedExec);
      const healthy = slot === undefined ? 0 : (shardOf(slot)?.replicas?.length ?? 0);
      await waitForReplicas(leasedExec, op, s.waitReplicas, s.waitTimeoutMs, healthy);
      return result;
    } finally {
      leased?.release();
    }
  }

  async function durable<T>(op: string, fn: (e: RedisExec) => Promise<T>): Promise<T> {
    let redirect: { address: string; asking: boolean } | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return await durableOnce(op, fn, redirect);
      } catch (err) {
        const r = redirectOf(err);
        // Nothing ran on MOVED/ASK/TRYAGAIN, and every script is idempotent anyway: retry, bounded.
        if (r === undefined || attempt >= 8) throw err;
        if (r === 'retry') {
          await sleep(10 * (attempt + 1));
          redirect = undefined;
        } else {
          redirect = r;
          // The shared client learns the new owner on its next MOVED; a PING keeps it from lagging.
          if (!r.asking) void send(['PING'], false).catch(() => {});
        }
      }
    }
  }

  /** A key read from every replica of its shard, the conservative answer (redis/replica-read.ts). */
  function replicaGet(key: string): Promise<string | null> {
    const replicas = shardOf(keySlot(key))?.replicas ?? [];
    return agreedReplicaRead(
      'replica_get',
      replicas.map(async (r) => (await cluster.nodeClient(r)).sendCommand(['GET', key]) as Promise<string | null>),
    );
  }

  return {
    backend: 'cluster',
    exec,
    replicaGet: (key) => withDeadline('replica_get', s.commandTimeoutMs, replicaGet(key)),
    ready,
    durable: (op, fn) => withDeadline(op, s.commandTimeoutMs + s.waitTimeoutMs, durable(op, fn)),
    // There is no one primary, and the near cache (their only user) is refused with a cluster (config.ts).
    primaryTarget: () => undefined,
    onPrimaryChange: () => {},
    ping: () => pingAndReport(exec, metrics),
    async close() {
      clearInterval(refresh);
      const graceful = Promise.allSettled([cluster.isOpen ? cluster.close() : undefined, ...[...pools.values()].map((p) => p.close())]);
      await withDeadline('close', s.commandTimeoutMs, graceful).catch(() => {
        cluster.destroy();
        for (const p of pools.values()) p.destroy();
      });
    },
  };
}
