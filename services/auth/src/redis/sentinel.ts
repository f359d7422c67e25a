import { createClient, createClientPool } from 'redis';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { StoreError } from '../errors.js';
import { classifyRedisError } from './errors.js';
import { durableOnPool, nodeClientOptions, pingAndReport, reconnectDelay, type RedisConnection, type RedisSettings } from './connection.js';
import type { RedisExec } from './exec.js';
import { withDeadline } from './deadline.js';

export interface SentinelSettings extends RedisSettings {
  readonly sentinels: readonly { host: string; port: number }[];
  readonly masterName: string;
  readonly sentinelPassword: string | undefined;
  /** Safety-net poll of the sentinels, in case a +switch-master message was missed. */
  readonly pollIntervalMs?: number;
}

const makeClient = (opts: Parameters<typeof createClient>[0]) => createClient(opts);
const makePool = (opts: Parameters<typeof createClientPool>[0], p: Parameters<typeof createClientPool>[1]) =>
  createClientPool(opts, p);
type Client = ReturnType<typeof makeClient>;
type Pool = ReturnType<typeof makePool>;

interface Primary {
  readonly addr: string;
  readonly client: Client;
  readonly pool: Pool | undefined;
}

const addrOf = (host: string, port: number | string) => `${host}:${port}`;

/** A SENTINEL replicas row: a flat [k, v, ...] array over RESP2, a map (plain object) over RESP3. */
function fields(row: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (Array.isArray(row)) {
    for (let i = 0; i + 1 < row.length; i += 2) m.set(String(row[i]), String(row[i + 1]));
  } else if (row instanceof Map) {
    for (const [k, v] of row) m.set(String(k), String(v));
  } else if (row && typeof row === 'object') {
    for (const [k, v] of Object.entries(row)) m.set(k, String(v));
  }
  return m;
}

/**
 * Sentinel-aware connection, written by hand on purpose: node-redis 6.3's createSentinel recovers
 * writes ~4 s after a primary dies with down-after-milliseconds 1000 (its 'switch-master'
 * subscription pattern never matches '+switch-master', it refuses a new master while flagged
 * 'disconnected', and it sleeps 1 s between rediscoveries), and each lease costs 20-30 ms of CPU.
 * This keeps plain node-redis clients and only decides which node they point at: it listens for
 * +switch-master on every sentinel, asks them all where the primary is (on start, on a failed
 * command, and on a slow poll), and swaps the primary client when the answer changes.
 */
export function createSentinelConnection(s: SentinelSettings, logger: Logger, metrics: Metrics): RedisConnection {
  const log = logger.child({ component: 'redis-sentinel' });
  const sentinelOpts = (host: string, port: number) => ({
    socket: { host, port, connectTimeout: s.connectTimeoutMs, reconnectStrategy: reconnectDelay },
    ...(s.sentinelPassword ? { password: s.sentinelPassword } : {}),
    disableOfflineQueue: true,
    commandOptions: { timeout: s.commandTimeoutMs },
  });
  const sentinelClients: Client[] = s.sentinels.map((n) => makeClient(sentinelOpts(n.host, n.port)));
  const subscribers: Client[] = s.sentinels.map((n) => makeClient(sentinelOpts(n.host, n.port)));
  for (const c of [...sentinelClients, ...subscribers]) {
    c.on('error', () => {}); // A dead sentinel is expected during chaos; quorum answers are what count.
    c.connect().catch(() => {});
  }

  let primary: Primary | undefined;
  let replica: { addr: string; client: Client } | undefined;
  let closed = false;
  let switching: Promise<void> | undefined;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  let lastErrorLog = 0;

  const openPrimary = (addr: string): Primary => {
    const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
    const opts = nodeClientOptions(s, { host, port });
    const client = makeClient(opts);
    client.on('error', (err: Error) => {
      const now = Date.now();
      if (now - lastErrorLog > 1000) {
        lastErrorLog = now;
        log.warn({ err: { message: err.message }, primary: addr }, 'redis primary connection error');
      }
      // A broken primary connection is the fastest failover signal we get.
      void rediscover('client-error');
    });
    client.on('ready', () => metrics.storeReady.set(1));
    client.connect().catch(() => {});
    const pool = s.waitReplicas > 0 ? makePool(opts, { minimum: 1, maximum: 4, acquireTimeout: s.commandTimeoutMs }) : undefined;
    pool?.on('error', () => {});
    pool?.connect().catch(() => {});
    return { addr, client, pool };
  };

  const closeNode = (p: { client: Client; pool?: Pool | undefined }) => {
    p.client.destroy();
    p.pool?.destroy();
  };

  /** Asks every reachable sentinel; the most common answer wins (a lone stale sentinel is outvoted). */
  const askSentinels = async (): Promise<{ primary?: string; replica?: string }> => {
    const answers = await Promise.allSettled(
      sentinelClients.map((c) =>
        c.isReady ? (c.sendCommand(['SENTINEL', 'get-master-addr-by-name', s.masterName]) as Promise<string[] | null>) : Promise.reject(new Error('down')),
      ),
    );
    const votes = new Map<string, number>();
    for (const a of answers) if (a.status === 'fulfilled' && a.value) votes.set(addrOf(a.value[0]!, a.value[1]!), (votes.get(addrOf(a.value[0]!, a.value[1]!)) ?? 0) + 1);
    const best = [...votes].sort((x, y) => y[1] - x[1])[0]?.[0];
    let replicaAddr: string | undefined;
    const asker = sentinelClients.find((c) => c.isReady);
    if (asker) {
      try {
        const rows = (await asker.sendCommand(['SENTINEL', 'replicas', s.masterName])) as unknown[];
        for (const row of rows) {
          const m = fields(row);
          const flags = m.get('flags') ?? '';
          if (!/s_down|o_down|disconnected/.test(flags) && m.get('master-link-status') === 'ok') {
            replicaAddr = addrOf(m.get('ip')!, m.get('port')!);
            break;
          }
        }
      } catch {
        // replica reads are a fallback; without one, reads fail like writes
      }
    }
    return { primary: best, replica: replicaAddr };
  };

  const rediscover = (reason: string): Promise<void> => {
    if (closed) return Promise.resolve();
    switching ??= (async () => {
      try {
        const found = await askSentinels();
        if (found.primary && found.primary !== primary?.addr) {
          const old = primary;
          const next = openPrimary(found.primary);
          // Swap only once the new client can take commands (bounded): swapping earlier would turn
          // the tail of a failover into "client is offline" errors instead of short waits.
          await withDeadline('connect', s.connectTimeoutMs, new Promise<void>((r) => (next.client.isReady ? r() : next.client.once('ready', () => r())))).catch(() => {});
          primary = next;
          if (old) {
            metrics.primaryChanges.inc();
            log.warn({ oldPrimary: old.addr, newPrimary: found.primary, reason }, 'redis primary changed');
            closeNode(old);
          } else {
            log.info({ primary: found.primary }, 'redis primary discovered');
          }
          resolveReady();
        }
        if (found.replica && found.replica !== replica?.addr) {
          const oldReplica = replica;
          const [host, port] = [found.replica.slice(0, found.replica.lastIndexOf(':')), Number(found.replica.slice(found.replica.lastIndexOf(':') + 1))];
          const client = makeClient(nodeClientOptions(s, { host, port }));
          client.on('error', () => {});
          client.connect().catch(() => {});
          replica = { addr: found.replica, client };
          if (oldReplica) oldReplica.client.destroy();
        }
      } finally {
        switching = undefined;
      }
    })();
    return switching;
  };

  subscribers.forEach((sub, i) => {
    sub.on('ready', () => {
      sub
        .subscribe('+switch-master', (message: string) => {
          if (message.startsWith(`${s.masterName} `)) void rediscover(`+switch-master from sentinel ${i}`);
        })
        .catch(() => {});
    });
  });
  // Poll until the first answer arrives, then slowly as a safety net for missed messages.
  const firstPoll = setInterval(() => (primary ? clearInterval(firstPoll) : void rediscover('startup')), 100);
  const poll = setInterval(() => void rediscover('poll'), s.pollIntervalMs ?? 1000);
  poll.unref();
  firstPoll.unref();

  const current = (): Primary => {
    if (!primary) throw new StoreError('connect', 'unavailable', 'no Redis primary known yet');
    return primary;
  };
  const onFailure = (err: unknown) => {
    const e = classifyRedisError('command', err);
    if (e.kind === 'unavailable' || e.kind === 'timeout' || e.kind === 'readonly') void rediscover(`command ${e.kind}`);
  };

  const exec: RedisExec = {
    async send(args) {
      try {
        return (await withDeadline(args[0] ?? 'command', s.commandTimeoutMs, current().client.sendCommand(args))) as never;
      } catch (err) {
        onFailure(err);
        throw err;
      }
    },
  };

  const replicaExec: RedisExec = {
    async send(args) {
      if (!replica) throw new StoreError('get', 'unavailable', 'no replica known');
      return (await withDeadline(args[0] ?? 'command', s.commandTimeoutMs, replica.client.sendCommand(args))) as never;
    },
  };

  return {
    backend: 'sentinel',
    exec,
    replicaExec,
    ready,
    async durable(op, fn) {
      const p = current();
      if (!p.pool) return fn(exec);
      try {
        return await durableOnPool(p.pool as unknown as Parameters<typeof durableOnPool>[0], s, op, fn);
      } catch (err) {
        onFailure(err);
        throw err;
      }
    },
    ping: () => pingAndReport(exec, metrics),
    async close() {
      closed = true;
      clearInterval(poll);
      clearInterval(firstPoll);
      await switching?.catch(() => {});
      if (primary) closeNode(primary);
      replica?.client.destroy();
      for (const c of [...sentinelClients, ...subscribers]) c.destroy();
    },
  };
}
