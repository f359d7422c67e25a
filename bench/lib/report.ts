export interface Summary {
  /** Medians over rounds. */
  rps: number;
  /** The server process's CPU (user + system) per answered request, microseconds (contenders only). */
  cpuUsPerRequest?: number;
  /** Share of one CPU the server used over a round (contenders only). */
  serverCpuShare?: number;
  /** The load generator's CPU per response, microseconds (contenders only). */
  loadGenUsPerRequest?: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  rounds: { rps: number; p50: number; p99: number; non2xx: number; errors: number; cpuUsPerRequest?: number; serverCpuShare?: number; loadGenUsPerRequest?: number }[];
}

export interface Target {
  target: string;
  measured: string;
  pass: boolean;
}

export interface Results {
  machine: Record<string, string | number>;
  config: Record<string, unknown>;
  contenders?: ({ name: string; note: string } & Summary)[];
  login?: {
    connections: number;
    validateConnections: number;
    argon2: string;
    maxConcurrency: string;
    /** The shipped default first. */
    runners: { runner: string; note: string; loginAlone: Summary; meAlone: Summary; loginDuringStorm: Summary; meDuringStorm: Summary }[];
  };
  store?: {
    memorySessions: number;
    usedMemoryBaseline: number;
    usedMemoryAtMemorySessions: number;
    bytesPerSession: number;
    largeSessions: number;
    usedMemoryAtLarge: number;
    bytesPerSessionAtLarge: number;
    keyUsage: { sessionKey: number; userIndex: number; sessionValueBytes: number };
    seedSeconds: number;
    seedRate: number;
    smallSessions: number;
    connections: number;
    distinctCookies: { small: number; large: number };
    atSmall: Summary;
    atLarge: Summary;
  };
  revocation?: {
    trials: number;
    boundMs: number;
    lagP50Ms: number;
    lagP99Ms: number;
    lagMaxMs: number;
    probeRttMs: number;
    loadOnB: { rps: number; p99: number; connections: number };
    hitsOnB: number;
    missesOnB: number;
    serverInvalidationsOnB: number;
    betterAuth: { cookieCache: boolean; trials: number; lagMaxMs: number; windowMs: number }[];
  };
  targets: Target[];
}

/** Names a baseline-build contender (BENCH_BASELINE_DIST): "<contender> (baseline build)". */
export const BASELINE_SUFFIX = '(baseline build)';

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}x` : 'n/a');
const n = (x: number) => x.toLocaleString('en-US');

export function renderMarkdown(r: Results): string {
  const c = r.config as { seconds: number; rounds: number; warmupSeconds: number; connections: number };
  const out: string[] = [];
  out.push('# Benchmark results', '');
  out.push(
    `Produced by \`npm run bench\` (bench/run.ts) on ${r.machine.date}. Every number below comes from that run; ` +
      'nothing is typed in. Load generator: autocannon (programmatic API) in its own process; medians over rounds, ' +
      'contenders alternated (order rotated every round).',
    '',
  );
  out.push('## Machine', '');
  out.push('| | |', '|---|---|');
  out.push(`| nproc | ${r.machine.nproc} |`);
  out.push(`| CPU | ${r.machine.cpu} |`);
  out.push(`| node | ${r.machine.node} |`);
  out.push(`| redis | ${r.machine.redis} |`);
  out.push(`| autocannon | ${r.machine.autocannon} |`);
  out.push(`| date | ${r.machine.date} |`);
  out.push(`| commit measured | ${r.machine.commit ?? 'not recorded'} |`);
  out.push(`| load average (1/5/15 min) at start / end | ${r.machine.loadAverageAtStart} / ${r.machine.loadAverageAtEnd ?? 'n/a'} |`);
  out.push(`| run | ${c.rounds} rounds x ${c.seconds} s per contender after a ${c.warmupSeconds} s warm-up, ${c.connections} connections |`);
  const pin = (r.config as { placement?: { server: string; aux: string } }).placement;
  out.push(
    `| CPU placement (contenders) | ${pin ? `server under test on CPU ${pin.server}; load generator and Redis on CPU ${pin.aux} (BENCH_PIN)` : 'none: every process where the kernel puts it (BENCH_PIN=0 or no taskset)'} |`,
    '',
  );

  if (r.contenders) {
    const by = (name: string) => r.contenders!.find((x) => x.name === name);
    const floor = by('floor koa+GET');
    const plain = by('koa-session-plain');
    const diy = by('diy');
    const ba = by('better-auth');
    out.push(`## GET with a valid session cookie, ${c.connections} connections`, '');
    out.push(
      'Every contender: cookie -> one session lookup -> 200 JSON with the user. Ratios are req/s over the column\'s req/s, same run. ' +
        'CPU us/req: the server process\'s user + system CPU per answered request (/proc/<pid>/stat over each round, median): ' +
        'what one request costs, which other work on the machine barely moves (req/s is what the scheduler left the contender). ' +
        'CPU share: how much of one CPU the server used; well below 1, the server was not what limited its req/s (the load ' +
        'generator, Redis or other work on the machine was), and its req/s ratios say little about its cost. Load gen us/req: ' +
        'autocannon\'s own CPU per response, higher for longer responses (more headers).',
      '',
    );
    out.push('| contender | req/s | p50 ms | p99 ms | CPU us/req | CPU share | load gen us/req | / floor koa+GET | / koa-session-plain | / diy | / better-auth | non-2xx | errors |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const opt = (x: number | undefined, d: number) => (x === undefined ? 'n/a' : f(x, d));
    for (const x of r.contenders) {
      out.push(
        `| ${x.name} | ${n(x.rps)} | ${f(x.p50)} | ${f(x.p99)} | ${opt(x.cpuUsPerRequest, 1)} | ${opt(x.serverCpuShare, 2)} | ${opt(x.loadGenUsPerRequest, 1)} | ${ratio(x.rps, floor?.rps)} | ${ratio(x.rps, plain?.rps)} | ${ratio(x.rps, diy?.rps)} | ${ratio(x.rps, ba?.rps)} | ${x.non2xx} | ${x.errors} |`,
      );
    }
    out.push('');
    for (const x of r.contenders) {
      const cpu = x.rounds.every((y) => y.cpuUsPerRequest !== undefined) ? `; CPU us/req: ${x.rounds.map((y) => f(y.cpuUsPerRequest!, 1)).join(', ')}` : '';
      out.push(`- **${x.name}**: ${x.note}; per round req/s: ${x.rounds.map((y) => n(y.rps)).join(', ')}${cpu}`);
    }
    out.push('');
  }

  const pairs = (r.contenders ?? []).flatMap((after) => {
    const before = r.contenders!.find((x) => x.name === `${after.name} ${BASELINE_SUFFIX}`);
    return before ? [{ after, before }] : [];
  });
  if (pairs.length) {
    out.push(`## Before / after (baseline build: ${String((r.config as { baselineLabel?: string }).baselineLabel)})`, '');
    out.push('Each of the service\'s contenders against the same contender run from the baseline build, alternated in the same rounds.', '');
    out.push('| contender | req/s after / before | CPU us/req after / before |', '|---|---:|---:|');
    for (const { after, before } of pairs) {
      const cpu = after.cpuUsPerRequest !== undefined && before.cpuUsPerRequest !== undefined
        ? `${f(after.cpuUsPerRequest, 1)} / ${f(before.cpuUsPerRequest, 1)} (${ratio(after.cpuUsPerRequest, before.cpuUsPerRequest)})`
        : 'n/a';
      out.push(`| ${after.name} | ${n(after.rps)} / ${n(before.rps)} (${ratio(after.rps, before.rps)}) | ${cpu} |`);
    }
    out.push('');
  }

  if (r.revocation) {
    const v = r.revocation;
    out.push('## Revocation lag with the near cache', '');
    out.push(
      `Two service replicas A and B (SESSION_STORE=redis, SESSION_NEAR_CACHE=true, bound ${v.boundMs} ms) on one Redis; B under ` +
        `${v.loadOnB.connections} connections of GET /auth/me for another session (${n(v.loadOnB.rps)} req/s, p99 ${f(v.loadOnB.p99)} ms). ` +
        'Each trial: B is asked for the session in a loop (its cache hot), the session is logged out through A, and the lag is how long ' +
        'after A acknowledged the logout B still answered 200 to a request sent then (0 when B refused every request sent after the ' +
        `acknowledgement). Resolution: one probe round trip (median ${f(v.probeRttMs, 3)} ms).`,
      '',
    );
    out.push('| | |', '|---|---|');
    out.push(`| trials | ${v.trials} |`);
    out.push(`| lag p50 / p99 / max | ${f(v.lagP50Ms, 3)} / ${f(v.lagP99Ms, 3)} / ${f(v.lagMaxMs, 3)} ms |`);
    out.push(`| bound enforced (entries older than this are read again, whatever the invalidations said) | ${v.boundMs} ms |`);
    out.push(`| near cache on B: hits / misses / server invalidations | ${n(v.hitsOnB)} / ${n(v.missesOnB)} / ${n(v.serverInvalidationsOnB)} |`);
    for (const x of v.betterAuth) {
      out.push(
        `| better-auth ${x.cookieCache ? 'WITH cookie cache (maxAge 300 s)' : 'without cookie cache'}, two instances, ${x.trials} trials, no load | ` +
          `${x.lagMaxMs >= x.windowMs * 0.95 ? `revoked session still accepted by B for the whole ${x.windowMs} ms window (max ${f(x.lagMaxMs, 1)} ms)` : `max lag ${f(x.lagMaxMs, 3)} ms`} |`,
      );
    }
    out.push('');
  }

  if (r.login) {
    const l = r.login;
    out.push('## Login', '');
    out.push(`POST /auth/login (SESSION_STORE=redis), ${l.argon2}; ${l.maxConcurrency}. ${l.connections} concurrent connections, 16 users cycled. ` +
      `Validation: GET /auth/me at ${l.validateConnections} connections, alone and while the logins run at full tilt (two autocannon processes at once).`, '');
    out.push('| argon2 runner | run | req/s | p50 ms | p99 ms | non-2xx |', '|---|---|---:|---:|---:|---:|');
    for (const x of l.runners) {
      out.push(`| ${x.note} | login alone | ${f(x.loginAlone.rps, 1)} | ${f(x.loginAlone.p50, 1)} | ${f(x.loginAlone.p99, 1)} | ${x.loginAlone.non2xx} |`);
      out.push(`| | login during validation load | ${f(x.loginDuringStorm.rps, 1)} | ${f(x.loginDuringStorm.p50, 1)} | ${f(x.loginDuringStorm.p99, 1)} | ${x.loginDuringStorm.non2xx} |`);
      out.push(`| | /auth/me alone | ${n(x.meAlone.rps)} | ${f(x.meAlone.p50)} | ${f(x.meAlone.p99)} | ${x.meAlone.non2xx} |`);
      out.push(`| | /auth/me during login storm | ${n(x.meDuringStorm.rps)} | ${f(x.meDuringStorm.p50)} | ${f(x.meDuringStorm.p99)} | ${x.meDuringStorm.non2xx} (p99 ${f(x.meDuringStorm.p99 / x.meAlone.p99)} x alone) |`);
    }
    out.push('');
  }

  if (r.store) {
    const s = r.store;
    out.push('## Store cost', '');
    out.push(
      'Sessions seeded through the service\'s own `RedisSessionStore.create` (the login\'s Lua script), not through argon2 ' +
        'logins: 22-character user ids, ~25-character emails, IPv4 addresses, "Chrome 120 on Windows"-style UA summaries, ' +
        '2 sessions per user (so each user index holds 2 entries).',
      '',
    );
    out.push('| | |', '|---|---|');
    out.push(`| used_memory delta per session at ${n(s.memorySessions)} sessions | **${s.bytesPerSession} B** (${n(s.usedMemoryBaseline)} -> ${n(s.usedMemoryAtMemorySessions)} B) |`);
    out.push(`| used_memory delta per session at ${n(s.largeSessions)} sessions | ${s.bytesPerSessionAtLarge} B (${n(s.usedMemoryAtLarge)} B in use) |`);
    out.push(`| MEMORY USAGE of one session key / its user's index (2 entries) | ${s.keyUsage.sessionKey} B (value ${s.keyUsage.sessionValueBytes} B) / ${s.keyUsage.userIndex} B; plus the main-dict and expires-dict entries Redis does not count per key |`);
    out.push(`| seeding ${n(s.largeSessions)} sessions | ${s.seedSeconds} s (${n(s.seedRate)} sessions/s) |`, '');
    out.push(`GET /auth/me at ${s.connections} connections (low, fixed concurrency), cycling ${s.distinctCookies.small} / ${s.distinctCookies.large} distinct session cookies, rounds alternating between two Redis servers:`, '');
    out.push('| sessions in Redis | req/s | p50 ms | p99 ms |', '|---:|---:|---:|---:|');
    out.push(`| ${n(s.smallSessions)} | ${n(s.atSmall.rps)} | ${f(s.atSmall.p50, 3)} | ${f(s.atSmall.p99, 3)} |`);
    out.push(`| ${n(s.largeSessions)} | ${n(s.atLarge.rps)} | ${f(s.atLarge.p50, 3)} | ${f(s.atLarge.p99, 3)} |`, '');
  }

  out.push('## Targets', '');
  out.push('| target | measured | verdict |', '|---|---|---|');
  for (const t of r.targets) out.push(`| ${t.target} | ${t.measured} | ${t.pass ? 'pass' : '**miss**'} |`);
  out.push('');
  return out.join('\n');
}
