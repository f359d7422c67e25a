import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Sub-millisecond buckets: a validated request is a store round trip, usually well under 1 ms. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export type ValidationOutcome = 'valid' | 'missing' | 'invalid' | 'expired' | 'error';

export interface Metrics {
  readonly registry: Registry;
  readonly validation: Histogram<'outcome' | 'source'>;
  readonly storeOp: Histogram<'op' | 'backend'>;
  readonly storeErrors: Counter<'op' | 'kind'>;
  readonly storeReady: Gauge;
  readonly primaryChanges: Counter;
  /** SESSION_STORE=cluster: slots of a shard without a working primary (0 elsewhere, so the alert has a series). */
  readonly clusterSlotsWithoutPrimary: Gauge;
  readonly logins: Counter<'outcome'>;
  readonly registrations: Counter<'outcome'>;
  /** Re-authentication, password change, account deletion and the other sudo-mode actions. */
  readonly accountActions: Counter<'action' | 'outcome'>;
  /** Login (and password check) attempts refused by the throttle, by the limit that refused. */
  readonly throttled: Counter<'scope'>;
  /** Requests Node answered itself before the app saw them (bad framing, headers too large, timeouts). */
  readonly clientErrors: Counter<'code'>;
  readonly sessionsCreated: Counter;
  readonly sessionsRevoked: Counter<'reason'>;
  readonly hashDuration: Histogram<'op'>;
  readonly hashQueue: Gauge;
  readonly hasherExits: Counter;
  readonly hasherSchedIdle: Gauge;
  readonly http: Histogram<'method' | 'route' | 'status'>;
  /** Replicated store only; 0 elsewhere, so dashboards and alerts have a series in every mode. */
  readonly replicationLag: Gauge;
  readonly replicationResyncs: Counter<'reason'>;
  /** Lets the replicated store report its lag at scrape time. */
  setReplicationLagSource(fn: () => number): void;
  /** Near cache (SESSION_NEAR_CACHE): hit ratio = hit / all lookups. Zero series when it is off. */
  readonly nearCacheLookups: Counter<'result'>;
  /**
   * The near cache counts its lookups in plain numbers and they are added to
   * session_near_cache_lookups_total at scrape time: a labelled inc() on every hit cost more
   * than the hit itself.
   */
  setNearCacheLookupSource(fn: () => { hit: number; miss: number; bypass: number }): void;
  readonly nearCacheInvalidations: Counter<'reason'>;
  readonly nearCacheFlushes: Counter<'reason'>;
  readonly nearCacheEntries: Gauge;
  setNearCacheSizeSource(fn: () => number): void;
}

/**
 * A registry per app instance (not the global one) so tests can run several apps in one process
 * without metric-name collisions.
 */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let lagSource: () => number = () => 0;
  const replicationResyncs = new Counter({
    name: 'session_replication_resyncs_total',
    help: 'Full reloads of the snapshot after a gap in the change stream or a lost history (replicated store).',
    labelNames: ['reason'],
    registers,
  });
  for (const reason of ['gap', 'epoch']) replicationResyncs.inc({ reason }, 0);
  let nearCacheSize: () => number = () => 0;
  let lookupSource: () => { hit: number; miss: number; bypass: number } = () => ({ hit: 0, miss: 0, bypass: 0 });
  const reported = { hit: 0, miss: 0, bypass: 0 };
  const nearCacheLookups = new Counter({
    name: 'session_near_cache_lookups_total',
    help: 'Session reads through the near cache: hit (from memory), miss (tracked Redis read), bypass (tracked connection down: plain read).',
    labelNames: ['result'],
    registers,
    collect() {
      const now = lookupSource();
      for (const k of ['hit', 'miss', 'bypass'] as const) {
        if (now[k] > reported[k]) this.inc({ result: k }, now[k] - reported[k]);
        reported[k] = now[k];
      }
    },
  });
  for (const result of ['hit', 'miss', 'bypass']) nearCacheLookups.inc({ result }, 0);
  const nearCacheInvalidations = new Counter({
    name: 'session_near_cache_invalidations_total',
    help: 'Near-cache invalidations: server (a CLIENT TRACKING push for a session key), local_write (an entry dropped by this process\'s own write).',
    labelNames: ['reason'],
    registers,
  });
  for (const reason of ['server', 'local_write']) nearCacheInvalidations.inc({ reason }, 0);
  const nearCacheFlushes = new Counter({
    name: 'session_near_cache_flushes_total',
    help: 'Whole near-cache flushes: disconnect (tracked connection dropped or reset), primary_change, flush_all (server-side flush).',
    labelNames: ['reason'],
    registers,
  });
  for (const reason of ['disconnect', 'primary_change', 'flush_all']) nearCacheFlushes.inc({ reason }, 0);
  return {
    registry,
    validation: new Histogram({
      name: 'session_validation_duration_seconds',
      help: 'Time to validate a session cookie: token check, store lookup and expiry checks.',
      labelNames: ['outcome', 'source'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    storeOp: new Histogram({
      name: 'session_store_operation_duration_seconds',
      help: 'Latency of session and user store operations.',
      labelNames: ['op', 'backend'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    storeErrors: new Counter({
      name: 'session_store_errors_total',
      help: 'Store operations that failed, by operation and kind of failure.',
      labelNames: ['op', 'kind'],
      registers,
    }),
    storeReady: new Gauge({
      name: 'session_store_ready',
      help: '1 while the session store answers, 0 otherwise.',
      registers,
    }),
    primaryChanges: new Counter({
      name: 'session_store_primary_changes_total',
      help: 'Redis primary changes (failovers) seen by this process.',
      registers,
    }),
    clusterSlotsWithoutPrimary: new Gauge({
      name: 'session_store_cluster_slots_without_primary',
      help: 'SESSION_STORE=cluster: slots whose primary the cluster flags failing or failed (cluster_slots_pfail + cluster_slots_fail of CLUSTER INFO, every 2 s); those users cannot log in or out until a replica is promoted. 0 in the other modes.',
      registers,
    }),
    logins: new Counter({
      name: 'auth_logins_total',
      help: 'Login attempts by outcome.',
      labelNames: ['outcome'],
      registers,
    }),
    registrations: new Counter({
      name: 'auth_registrations_total',
      help: 'Registration attempts by outcome.',
      labelNames: ['outcome'],
      registers,
    }),
    accountActions: new Counter({
      name: 'auth_account_actions_total',
      help: 'Sensitive account actions (reauth, password_change, account_delete, logout_all, revoke_session) by outcome.',
      labelNames: ['action', 'outcome'],
      registers,
    }),
    throttled: new Counter({
      name: 'auth_login_throttled_total',
      help: 'Password attempts refused by the throttle, by scope (ip, account_ip, account, device).',
      labelNames: ['scope'],
      registers,
    }),
    clientErrors: new Counter({
      name: 'http_client_errors_total',
      help: 'Requests answered by the HTTP server itself (bad framing, headers too large, timeouts), by error code.',
      labelNames: ['code'],
      registers,
    }),
    sessionsCreated: new Counter({ name: 'sessions_created_total', help: 'Sessions created.', registers }),
    sessionsRevoked: new Counter({
      name: 'sessions_revoked_total',
      help: 'Sessions ended, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    hashDuration: new Histogram({
      name: 'auth_password_hash_duration_seconds',
      help: 'argon2id hash and verify time, queueing excluded.',
      labelNames: ['op'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    hashQueue: new Gauge({
      name: 'auth_password_hash_queue_length',
      help: 'Password hash operations waiting for a slot.',
      registers,
    }),
    hasherExits: new Counter({
      name: 'auth_password_hasher_exits_total',
      help: 'Unexpected exits of the password hasher process (ARGON2_RUNNER=process); the next hash starts a new one.',
      registers,
    }),
    hasherSchedIdle: new Gauge({
      name: 'auth_password_hasher_sched_idle',
      help: 'Whether the running password hasher process has its threads under SCHED_IDLE (1) or not (0: refused, turned off, inline, or no hasher running).',
      registers,
    }),
    http: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    replicationLag: new Gauge({
      name: 'session_replication_lag_seconds',
      help:
        'How far behind the replicated history this replica may be: 0 while its stream reader is current, else the time since it last was (replicated store; 0 in other modes).',
      registers,
      collect() {
        this.set(lagSource());
      },
    }),
    nearCacheEntries: new Gauge({
      name: 'session_near_cache_entries',
      help: 'Sessions held in the near cache (0 when it is off).',
      registers,
      collect() {
        this.set(nearCacheSize());
      },
    }),
    replicationResyncs,
    setReplicationLagSource(fn) {
      lagSource = fn;
    },
    nearCacheLookups,
    nearCacheInvalidations,
    nearCacheFlushes,
    setNearCacheSizeSource(fn) {
      nearCacheSize = fn;
    },
    setNearCacheLookupSource(fn) {
      lookupSource = fn;
    },
  };
}
