export interface Summary {
  /** Medians over rounds. */
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  rounds: { rps: number; p50: number; p99: number; non2xx: number; errors: number }[];
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
    loginAlone: Summary;
    meAlone: Summary;
    loginDuringStorm: Summary;
    meDuringStorm: Summary;
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
  targets: Target[];
}

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
  out.push(`| load average (1/5/15 min) at start / end | ${r.machine.loadAverageAtStart} / ${r.machine.loadAverageAtEnd ?? 'n/a'} |`);
  out.push(`| run | ${c.rounds} rounds x ${c.seconds} s per contender after a ${c.warmupSeconds} s warm-up, ${c.connections} connections |`, '');

  if (r.contenders) {
    const by = (name: string) => r.contenders!.find((x) => x.name === name);
    const ceiling = by('ceiling');
    const plain = by('koa-session-plain');
    const express = by('express-session');
    out.push(`## GET with a valid session cookie, ${c.connections} connections`, '');
    out.push('| contender | req/s | p50 ms | p99 ms | / ceiling | / koa-session-plain | / express-session | non-2xx | errors |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const x of r.contenders) {
      out.push(
        `| ${x.name} | ${n(x.rps)} | ${f(x.p50)} | ${f(x.p99)} | ${ratio(x.rps, ceiling?.rps)} | ${ratio(x.rps, plain?.rps)} | ${ratio(x.rps, express?.rps)} | ${x.non2xx} | ${x.errors} |`,
      );
    }
    out.push('');
    for (const x of r.contenders) out.push(`- **${x.name}**: ${x.note}; per round req/s: ${x.rounds.map((y) => n(y.rps)).join(', ')}`);
    out.push('');
  }

  if (r.login) {
    const l = r.login;
    out.push('## Login', '');
    out.push(`POST /auth/login (SESSION_STORE=redis), ${l.argon2}; ${l.maxConcurrency}. ${l.connections} concurrent connections, 16 users cycled. ` +
      `Validation: GET /auth/me at ${l.validateConnections} connections, alone and while the logins run at full tilt (two autocannon processes at once).`, '');
    out.push('| run | req/s | p50 ms | p99 ms | non-2xx |', '|---|---:|---:|---:|---:|');
    out.push(`| login alone | ${f(l.loginAlone.rps, 1)} | ${f(l.loginAlone.p50, 1)} | ${f(l.loginAlone.p99, 1)} | ${l.loginAlone.non2xx} |`);
    out.push(`| login during validation load | ${f(l.loginDuringStorm.rps, 1)} | ${f(l.loginDuringStorm.p50, 1)} | ${f(l.loginDuringStorm.p99, 1)} | ${l.loginDuringStorm.non2xx} |`);
    out.push(`| /auth/me alone | ${n(l.meAlone.rps)} | ${f(l.meAlone.p50)} | ${f(l.meAlone.p99)} | ${l.meAlone.non2xx} |`);
    out.push(`| /auth/me during login storm | ${n(l.meDuringStorm.rps)} | ${f(l.meDuringStorm.p50)} | ${f(l.meDuringStorm.p99)} | ${l.meDuringStorm.non2xx} |`, '');
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
