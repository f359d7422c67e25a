import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startCluster, type Cluster } from '../../chaos/src/cluster/index.js';
import { dashboardQueries, loadDashboards } from './support/dashboards.js';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * The dashboards and alerts against a real Prometheus scraping a real local cluster (sentinel
 * topology, two app replicas) while load and faults run: every panel and annotation query must
 * return data, and every alert expression must hold once its fault has been injected.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PASSWORD = 'correct horse battery staple';

interface Rule {
  alert: string;
  expr: string;
}

/** Alerts on metrics only a Redis Cluster moves (0 in the other modes): driven by their own test below. */
const CLUSTER_ONLY = ['RedisClusterSlotsWithoutPrimary'];

function alertRules(): Rule[] {
  const doc = parseYaml(readFileSync(new URL('../../charts/session-auth/files/prometheus/alerts.yaml', import.meta.url), 'utf8')) as {
    groups: { rules: Rule[] }[];
  };
  return doc.groups.flatMap((g) => g.rules).filter((r) => r.alert);
}

async function call(base: string, method: string, path: string, body?: unknown, cookie?: string, csrf?: string) {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (cookie) headers.cookie = cookie;
  if (csrf) headers['x-csrf-token'] = csrf;
  try {
    const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(3000) });
    const cookies = r.headers.getSetCookie().map((c) => c.split(';')[0]).filter((c) => !c!.endsWith('=')).join('; ');
    const text = await r.text();
    return { status: r.status, cookies, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {} };
  } catch {
    return { status: 0, cookies: '', json: {} };
  }
}

/** A request line no HTTP parser accepts; resolves when the server has answered and closed. */
function malformedRequest(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end('NOT A REQUEST\r\n\r\n'));
    let out = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer to a malformed request')));
    socket.on('data', (b: Buffer) => (out += b.toString()));
    socket.once('error', reject);
    socket.once('close', () => resolve(out));
  });
}

/** A bounded mix of every kind of traffic the dashboards break down. */
async function traffic(base: string, seconds: number, tag: string) {
  const end = Date.now() + seconds * 1000;
  let n = 0;
  while (Date.now() < end) {
    const email = `live-${tag}-${n++}@example.com`;
    await call(base, 'POST', '/auth/register', { email, password: PASSWORD });
    const login = await call(base, 'POST', '/auth/login', { email, password: PASSWORD });
    const csrf = login.json.csrfToken as string | undefined;
    for (let i = 0; i < 5; i++) await call(base, 'GET', '/auth/me', undefined, login.cookies);
    await call(base, 'GET', '/auth/me');
    await call(base, 'GET', '/auth/sessions', undefined, login.cookies);
    // Failures dominate, as in a credential-stuffing run: wrong passwords, then the throttle.
    for (let i = 0; i < 4; i++) await call(base, 'POST', '/auth/login', { email, password: 'wrong password!' });
    const second = await call(base, 'POST', '/auth/login', { email: `${email}.x`, password: 'nope nope nope' });
    void second;
    await call(base, 'POST', '/auth/logout-all', { keepCurrent: true }, login.cookies, csrf);
    await call(base, 'POST', '/auth/logout', undefined, login.cookies, csrf);
  }
}

describe('dashboards and alerts against a real Prometheus and a live cluster', () => {
  let cluster: Cluster;
  let prom: string;

  const query = async (expr: string) => {
    const r = await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await r.json()) as { status: string; data?: { result: unknown[] }; error?: string };
    return { http: r.status, ...body };
  };

  beforeAll(async () => {
    cluster = await startCluster({
      topology: 'sentinel',
      replicas: 2,
      observe: true,
      appEnv: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_ATTEMPTS_PER_IP: '1000000', SESSION_TOUCH_INTERVAL_SECONDS: '1', ARGON2_MEMORY_KIB: '4096', ARGON2_TIME_COST: '1' },
    });
    prom = cluster.prometheus!.url;
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('every panel query returns data and every alert fires on its fault', async () => {
    const base = cluster.url;
    await traffic(base, 6, 'steady');
    // Malformed framing straight to each app replica (the ingress would not forward it): the
    // HTTP server answers 400 itself and counts it in http_client_errors_total.
    for (const app of cluster.apps) await malformedRequest(app.port);
    // Credential stuffing: LoginFailuresSpiking needs > 1 failure/s averaged over its 5 m window.
    let stuffed = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 50; i++) {
          const r = await call(base, 'POST', '/auth/login', { email: `nobody-${w}-${i}@example.com`, password: 'hunter2hunter2' });
          if (r.status === 401) stuffed++;
        }
      }),
    );
    expect(stuffed).toBeGreaterThan(320);

    // Latency fault: a primary that stalls for 300 ms at a time (shorter than the 500 ms store
    // deadline, so requests are slow rather than failed, and than down-after-milliseconds, so no
    // failover).
    const primary = await cluster.sentinel!.currentPrimary();
    await call(base, 'POST', '/auth/register', { email: 'live-hung@example.com', password: PASSWORD });
    const victim = await call(base, 'POST', '/auth/login', { email: 'live-hung@example.com', password: PASSWORD });
    const during = traffic(base, 2, 'hung');
    // 40 validations at a time, repeated while the primary stalls, so the slow ones are well over
    // 1% of the alert's window.
    let hung = true;
    const stuck = Array.from({ length: 40 }, async () => {
      while (hung) await call(base, 'GET', '/auth/me', undefined, victim.cookies);
    });
    for (let i = 0; i < 4; i++) {
      await primary.pause();
      await sleep(300);
      await primary.resume();
      await sleep(50);
    }
    hung = false;
    await Promise.all([during, ...stuck]);

    // Failover: kill -9 the primary under load.
    const load = traffic(base, 6, 'failover');
    await (await cluster.sentinel!.currentPrimary()).kill();
    await load;

    // A dead app replica.
    await cluster.apps[1]!.kill();
    // No primary at all: every Redis data node gone.
    const outage = traffic(base, 4, 'outage');
    for (const node of cluster.redisNodes()) if (node.running()) await node.kill();
    await outage;
    await sleep(3000);

    const empty: string[] = [];
    for (const d of loadDashboards()) {
      for (const q of dashboardQueries(d, { __range: '1h', __rate_interval: '1m' })) {
        const r = await query(q.expr);
        expect(r.http, `${d.file} ${q.where}: ${r.error ?? ''}`).toBe(200);
        if (!r.data || r.data.result.length === 0) empty.push(`${d.file} ${q.where}: ${q.expr}`);
      }
    }
    expect(empty, 'dashboard queries that returned no data').toEqual([]);

    const rules = alertRules();
    const holding = async (r: Rule) => ((await query(r.expr)).data?.result.length ?? 0) > 0;
    const silent: string[] = [];
    for (const r of rules.filter((r) => r.alert !== 'AuthAllReplicasDown' && !CLUSTER_ONLY.includes(r.alert))) if (!(await holding(r))) silent.push(r.alert);
    expect(silent, 'alert expressions that did not hold after their fault').toEqual([]);

    // Alerts without a pending period fire for real.
    const alerts = (await (await fetch(`${prom}/api/v1/alerts`)).json()) as { data: { alerts: { labels: { alertname: string }; state: string }[] } };
    const firing = alerts.data.alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname);
    expect(firing).toContain('RedisFailoverHappened');

    // Last fault: every app replica down.
    for (const app of cluster.apps) if (app.running()) await app.kill();
    await sleep(2500);
    expect(await holding(rules.find((r) => r.alert === 'AuthAllReplicasDown')!)).toBe(true);
  }, 120_000);
});

describe('cluster-only alerts against a real Prometheus and a live Redis Cluster', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({ topology: 'cluster', replicas: 1, observe: true });
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('RedisClusterSlotsWithoutPrimary holds once a shard has lost its primary and its replica, and not before', async () => {
    const prom = cluster.prometheus!.url;
    const rule = alertRules().find((r) => r.alert === 'RedisClusterSlotsWithoutPrimary')!;
    const holds = async () => {
      const r = (await (await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(rule.expr)}`)).json()) as { data?: { result: unknown[] } };
      return (r.data?.result.length ?? 0) > 0;
    };
    const gauge = async () => {
      const r = (await (await fetch(`${prom}/api/v1/query?query=${encodeURIComponent('session_store_cluster_slots_without_primary')}`)).json()) as { data?: { result: unknown[] } };
      return r.data?.result.length ?? 0;
    };
    // Scraped, and 0: a whole cluster.
    for (let i = 0; i < 100 && (await gauge()) === 0; i++) await sleep(200);
    expect(await holds()).toBe(false);
    const shard = (await cluster.redisCluster!.shards())[0]!;
    for (const node of [shard.primary, ...shard.replicas]) await node.kill();
    let held = false;
    for (let i = 0; i < 100 && !held; i++) {
      held = await holds();
      if (!held) await sleep(200);
    }
    expect(held, 'the expression held within 20 s of the shard losing every node').toBe(true);
  }, 120_000);
});
