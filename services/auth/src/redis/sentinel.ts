import { createClient, createClientPool } from 'redis';
import { agreedReplicaRead } from './replica-read.js';
import { oncePer, type Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { StoreError } from '../errors.js';
import { classifyRedisError } from './errors.js';
import { deadlineExec, durableOnPool, nodeClientOptions, pingAndReport, reconnectDelay, type PrimaryTarget, type RedisConnection, type RedisSettings } from './connection.js';
import type { RedisExec } from './exec.js';
import { withDeadline } from './deadline.js';
import { voteForPrimary } from './sentinel-vote.js';

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
  /** Bounded sends on `client`, reset when they keep missing the deadline. */
  readonly exec: RedisExec;
}

const addrOf = (host: string, port: number | string) => `${host}:${port}`;
const targetOf = (addr: string): PrimaryTarget => {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
};

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
  // Every healthy replica, for the failover-time read fallback (see replicaGet).
  const replicas = new Map<string, Client>();
  let closed = false;
  let switching: Promise<void> | undefined;
  /** Why to run rediscovery once more after the running one (see rediscover). */
  let rerun: string | undefined;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  const logGate = oncePer(1000);
  const primaryListeners: ((target: PrimaryTarget) => void)[] = [];

  const openPrimary = (addr: string): Primary => {
    const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
    const opts = nodeClientOptions(s, { host, port });
    const client = makeClient(opts);
    client.on('error', (err: Error) => {
      if (logGate()) log.warn({ err: { message: err.message }, primary: addr }, 'redis primary connection error');
      // A broken primary connection is the fastest failover signal we get.
      void rediscover('client-error');
    });
    client.on('ready', () => metrics.storeReady.set(1));
    client.connect().catch(() => {});
    const pool = s.waitReplicas > 0 ? makePool(opts, { minimum: 1, maximum: 4, acquireTimeout: s.commandTimeoutMs }) : undefined;
    pool?.on('error', () => {});
    pool?.connect().catch(() => {});
    const exec = deadlineExec(client as unknown as Parameters<typeof deadlineExec>[0], {
      timeoutMs: s.commandTimeoutMs,
      onReset: () => log.warn({ primary: addr }, 'redis primary: commands keep missing their deadline, reconnecting'),
    });
    return { addr, client, pool, exec };
  };

  const closeNode = (p: { client: Client; pool?: Pool | undefined }) => {
    p.client.destroy();
    p.pool?.destroy();
  };

  // Every sentinel query is bounded: one hung sentinel must not wedge failover detection.
  const askOne = <T>(c: Client, args: string[]): Promise<T> =>
    c.isReady ? (withDeadline('sentinel', s.commandTimeoutMs, c.sendCommand(args)) as Promise<T>) : Promise.reject(new Error('down'));

  /**
   * Asks every sentinel; a majority decides without waiting for the rest (sentinel-vote.ts), so a
   * lone stale sentinel is outvoted and a silent one does not hold the answer up.
   */
  const askSentinels = async (): Promise<{ primary?: string; replicas: string[] }> => {
    const vote = await voteForPrimary(
      sentinelClients.map((c) =>
        askOne<string[] | null>(c, ['SENTINEL', 'get-master-addr-by-name', s.masterName]).then((a) => (a ? addrOf(a[0]!, a[1]!) : undefined)),
      ),
      primary?.addr,
    );
    const healthy: string[] = [];
    // Ask the sentinel that named the winner: it has just answered. The first "ready" client may
    // be one that is cut off without knowing it (a silent TCP connection stays ready), and then
    // every rediscovery waited out its deadline a second time and never learnt the replicas.
    const asker = vote.from === undefined ? undefined : sentinelClients[vote.from];
    if (asker) {
      try {
        for (const row of await askOne<unknown[]>(asker, ['SENTINEL', 'replicas', s.masterName])) {
          const m = fields(row);
          if (!/s_down|o_down|disconnected/.test(m.get('flags') ?? '') && m.get('master-link-status') === 'ok') {
            healthy.push(addrOf(m.get('ip')!, m.get('port')!));
          }
        }
      } catch {
        // replica reads are a fallback; without replicas, reads fail like writes
      }
    }
    return { ...(vote.primary ? { primary: vote.primary } : {}), replicas: healthy };
  };

  const rediscoverOnce = async (reason: string): Promise<void> => {
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
      for (const l of primaryListeners) l(targetOf(found.primary));
      resolveReady();
    }
    // Keep the replica set as last seen while a sentinel is unreachable (empty answer).
    if (found.replicas.length > 0) {
      for (const addr of found.replicas) {
        if (replicas.has(addr)) continue;
        const i = addr.lastIndexOf(':');
        const client = makeClient(nodeClientOptions(s, { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) }));
        client.on('error', () => {});
        client.connect().catch(() => {});
        replicas.set(addr, client);
      }
      for (const [addr, client] of replicas) {
        if (!found.replicas.includes(addr)) {
          client.destroy();
          replicas.delete(addr);
        }
      }
    }
  };

  /**
   * One rediscovery at a time; calls while one runs join it. `fresh` (a +switch-master) asks
   * again once the running one is done: it may have read the sentinels before they switched, and
   * joining it dropped the message; the next poll or failed command then had to find the change.
   */
  const rediscover = (reason: string, fresh = false): Promise<void> => {
    if (closed) return Promise.resolve();
    if (switching) {
      if (fresh) rerun = reason;
      return switching;
    }
    switching = (async () => {
      try {
        for (let why: string | undefined = reason; why !== undefined && !closed; why = rerun) {
          rerun = undefined;
          await rediscoverOnce(why);
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
          if (message.startsWith(`${s.masterName} `)) void rediscover(`+switch-master from sentinel ${i}`, true);
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
        return (await current().exec.send(args)) as never;
      } catch (err) {
        onFailure(err);
        throw err;
      }
    },
  };

  /** A key read from every healthy replica, the conservative answer (redis/replica-read.ts). */
  const replicaGet = (key: string): Promise<string | null> =>
    agreedReplicaRead(
      'get',
      [...replicas.values()].map((c) => withDeadline('get', s.commandTimeoutMs, c.sendCommand(['GET', key])) as Promise<string | null>),
    );

  return {
    backend: 'sentinel',
    exec,
    replicaGet,
    ready,
    async durable(op, fn) {
      const p = current();
      if (!p.pool) return fn(exec);
      try {
        return await durableOnPool(p.pool as unknown as Parameters<typeof durableOnPool>[0], s, op, fn, replicas.size);
      } catch (err) {
        onFailure(err);
        throw err;
      }
    },
    primaryTarget: () => (primary ? targetOf(primary.addr) : undefined),
    onPrimaryChange: (l) => void primaryListeners.push(l),
    ping: () => pingAndReport(exec, metrics),
    async close() {
      closed = true;
      clearInterval(poll);
      clearInterval(firstPoll);
      await switching?.catch(() => {});
      if (primary) closeNode(primary);
      for (const c of replicas.values()) c.destroy();
      for (const c of [...sentinelClients, ...subscribers]) c.destroy();
    },
  };
}
