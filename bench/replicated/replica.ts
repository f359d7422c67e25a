// One app replica for bench/replicated/run.ts, in its own process so its memory is its own.
// MODE=replicated: a ReplicatedSessionStore on REDIS_URL; MODE=redis: the centralized RedisSessionStore.
// Talks to the parent over IPC: reports memory and time to ready, when a watched change became
// visible to get(), answers get/lag/pause/resume (pause: its follower's link to Redis is cut).
import { ReplicatedSessionStore, replicationConnections } from '../../services/auth/src/replication/store.js';
import { partitionable } from '../../services/auth/test/support/partition.js';
import { RedisSessionStore } from '../../services/auth/src/sessions/redis-store.js';
import { createStandaloneConnection } from '../../services/auth/src/redis/connection.js';
import { createLogger } from '../../services/auth/src/observability/logger.js';
import { createMetrics } from '../../services/auth/src/observability/metrics.js';
import type { SessionStore } from '../../services/auth/src/sessions/types.js';

const url = process.env.REDIS_URL!;
const mode = process.env.MODE ?? 'replicated';
const ns = process.env.NS ?? 'sa:v1:replication';
const send = (m: unknown) => process.send?.(m);
const wall = () => performance.timeOrigin + performance.now();
const gc = () => (globalThis as { gc?: () => void }).gc?.();

function mem() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

const before = mem();
const t0 = performance.now();
let store: SessionStore;
let replicated: ReplicatedSessionStore | undefined;
let link: ReturnType<typeof partitionable> | undefined;
const metrics = createMetrics({ defaultMetrics: false });
if (mode === 'replicated') {
  const conns = replicationConnections({ url, commandTimeoutMs: 500, connectTimeoutMs: 500 }, { blockMs: 500 });
  link = partitionable(conns.reader);
  replicated = new ReplicatedSessionStore(
    { reader: link.exec, writer: conns.writer, close: () => conns.close() },
    { namespace: ns, commandTimeoutMs: 500, blockMs: 500, metrics },
  );
  await replicated.ready;
  store = replicated;
} else {
  const conn = createStandaloneConnection(
    { url, password: undefined, commandTimeoutMs: 500, connectTimeoutMs: 500, waitReplicas: 0, waitTimeoutMs: 250 },
    createLogger('silent'),
    metrics,
  );
  await conn.ready;
  store = new RedisSessionStore(conn, 'sa:v1:', 0);
  for (let i = 0; i < 1000; i++) await store.get(`warm-${i}`);
}
const readyMs = performance.now() - t0;
const after = mem();
send({
  type: 'ready',
  readyMs,
  sessions: replicated?.size() ?? 0,
  heapDelta: after.heapUsed - before.heapUsed,
  rssDelta: after.rss - before.rss,
  heapUsed: after.heapUsed,
  rss: after.rss,
});

const resyncs = async () =>
  (await metrics.replicationResyncs.get()).values.reduce((n, v) => n + v.value, 0);

process.on('message', (m: { cmd: string; id?: string; present?: boolean; rid?: number }) => {
  void (async () => {
    const reply = (body: Record<string, unknown>) => send({ type: 'reply', rid: m.rid, ...body });
    switch (m.cmd) {
      case 'ping':
        return reply({});
      case 'await': {
        // Polls get() every turn of the event loop (I/O runs in between): t is when a request
        // here would first have seen the change, within microseconds of the follower applying it.
        const until = performance.now() + 10_000;
        while (performance.now() < until) {
          if (((await store.get(m.id!)) !== null) === m.present) return reply({ t: wall() });
          await new Promise((r) => setImmediate(r));
        }
        return reply({ t: NaN });
      }
      case 'get':
        try {
          return reply({ found: (await store.get(m.id!)) !== null, t: wall() });
        } catch (err) {
          return reply({ error: (err as { kind?: string }).kind ?? 'other', t: wall() });
        }
      case 'lag':
        return reply({ lag: replicated?.lagSeconds() ?? 0, seq: replicated?.appliedSeq() ?? 0, resyncs: await resyncs() });
      case 'pause':
        link?.cut();
        return reply({});
      case 'resume':
        link?.heal();
        return reply({});
      case 'exit':
        await store.close().catch(() => {});
        process.exit(0);
    }
  })();
});
