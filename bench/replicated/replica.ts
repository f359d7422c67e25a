// One app replica for bench/replicated/run.ts, in its own process so its memory is its own.
// MODE=replicated: a ReplicatedSessionStore on REDIS_URL; MODE=redis: the centralized RedisSessionStore.
// Talks to the parent over IPC: reports memory and time to ready, apply times of watched changes,
// answers get/lag/pause/resume.
import { ReplicatedSessionStore } from '../../services/auth/src/sessions/replicated-store.js';
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
let tracking = false;
if (mode === 'replicated') {
  replicated = new ReplicatedSessionStore({
    redis: { url, commandTimeoutMs: 500, connectTimeoutMs: 500 },
    namespace: ns,
    blockMs: 500,
  });
  replicated.onApply((ev, source) => {
    if (!tracking || source !== 'reader') return;
    send({ type: 'apply', t: wall(), put: ev.put?.id, dels: ev.dels });
  });
  await replicated.ready;
  store = replicated;
} else {
  const conn = createStandaloneConnection(
    { url, password: undefined, commandTimeoutMs: 500, connectTimeoutMs: 500, waitReplicas: 0, waitTimeoutMs: 250 },
    createLogger('silent'),
    createMetrics({ defaultMetrics: false }),
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

process.on('message', (m: { cmd: string; id?: string; on?: boolean; rid?: number }) => {
  void (async () => {
    const reply = (body: Record<string, unknown>) => send({ type: 'reply', rid: m.rid, ...body });
    switch (m.cmd) {
      case 'track':
        tracking = m.on === true;
        return reply({});
      case 'get':
        try {
          return reply({ found: (await store.get(m.id!)) !== null, t: wall() });
        } catch (err) {
          return reply({ error: (err as { kind?: string }).kind ?? 'other', t: wall() });
        }
      case 'lag':
        return reply({ lag: replicated?.lagSeconds() ?? 0, seq: replicated?.appliedSeq() ?? 0, resyncs: replicated?.stats.resyncs ?? 0 });
      case 'pause':
        await replicated?.pauseReader();
        return reply({});
      case 'resume':
        replicated?.resumeReader();
        return reply({});
      case 'exit':
        await store.close().catch(() => {});
        process.exit(0);
    }
  })();
});
