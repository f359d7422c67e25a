// The chart's Redis scripts (files/scripts) against real redis-server/redis-sentinel: the two sims
// next to this file, each as root in a private mount namespace (its own /etc/hosts). A sim prints
// what it sees and mostly carries on when a check goes wrong, so its exit code alone proves little:
// these tests assert the lines each check prints, and that the sim left none of its processes alive.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chartDir } from './helm.ts';

const DAEMONS = ['redis-server', 'redis-sentinel'] as const;
type Daemon = (typeof DAEMONS)[number];

// A thrown error, not a skip: a machine that cannot run the sims must not pass their checks.
function requireSimHost(): void {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error(`the redis sims need root on Linux (a private mount namespace for their /etc/hosts); this is uid ${process.getuid?.()} on ${process.platform}`);
  }
  const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'true'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`\`unshare -m --propagation private true\` failed (util-linux unshare and CAP_SYS_ADMIN needed): ${probe.error?.message ?? probe.stderr.trim()}`);
  }
  const missing = ['redis-server', 'redis-sentinel', 'redis-cli', 'pgrep'].filter((bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0);
  if (missing.length > 0) throw new Error(`not on PATH: ${missing.join(', ')} (node scripts/bootstrap.mjs --redis installs redis-server and redis-sentinel)`);
}

function pgrep(name: Daemon): number[] {
  const r = spawnSync('pgrep', ['-x', name], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

// What tells the sim's processes from those of another suite running now (they start redis-servers
// too): every process a sim starts inherits this variable, and its redis-server/redis-sentinel, whose
// environment block setproctitle overwrites with their title, have their `dir` under the sim's TMPDIR.
const MARK = 'SESSION_AUTH_REDIS_SIM_RUN';

interface Run {
  id: string;
  tmp: string;
}

function isOfRun(pid: number, run: Run): boolean {
  try {
    if (readlinkSync(`/proc/${pid}/cwd`).startsWith(run.tmp + '/')) return true;
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${MARK}=${run.id}`);
  } catch {
    return false; // gone meanwhile
  }
}

function describePid(pid: number): string {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim()} (cwd ${readlinkSync(`/proc/${pid}/cwd`)})`;
  } catch {
    return `${pid} (gone)`;
  }
}

function pidsOfRun(run: Run): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => isOfRun(pid, run));
}

interface SimRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  seconds: number;
  stdout: string;
  stderr: string;
  /** PIDs of the sim's own redis-server/redis-sentinel that pgrep listed while it ran. */
  seen: Record<Daemon, Set<number>>;
  /** The sim's redis-server/redis-sentinel that pgrep still lists after it exited. */
  leftDaemons: string[];
  /** Any other process of the sim still there after it exited. */
  leftOthers: string[];
}

/**
 * Runs `unshare -m --propagation private sh test/<script>` with a TMPDIR of its own. Past `deadlineMs`
 * the sim gets SIGTERM (its trap stops what it started), 30 s later SIGKILL. Whatever of it outlives
 * the run is recorded, then killed by PID so that the next test file does not inherit it.
 */
async function runSim(script: string, deadlineMs: number): Promise<SimRun> {
  const before = Object.fromEntries(DAEMONS.map((d) => [d, new Set(pgrep(d))])) as Record<Daemon, Set<number>>;
  const seen = Object.fromEntries(DAEMONS.map((d) => [d, new Set<number>()])) as Record<Daemon, Set<number>>;
  const tmp = realpathSync(mkdtempSync(path.join(tmpdir(), 'redis-sim-')));
  const run: Run = { id: randomUUID(), tmp };
  const sample = (): void => {
    for (const d of DAEMONS) for (const pid of pgrep(d)) if (!before[d].has(pid) && isOfRun(pid, run)) seen[d].add(pid);
  };
  const started = Date.now();
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', path.join(chartDir, 'test', script)], {
    env: { ...process.env, TMPDIR: tmp, [MARK]: run.id },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let timedOut = false;
  const timers: NodeJS.Timeout[] = [
    setInterval(sample, 500),
    setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      timers.push(setTimeout(() => child.kill('SIGKILL'), 30_000));
    }, deadlineMs),
  ];
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  // 'exit', not 'close': a leaked process that inherited stdout would hold 'close' back for its lifetime.
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c, s) => resolve([c, s]));
  }).finally(() => timers.forEach(clearTimeout));
  const seconds = (Date.now() - started) / 1000;

  // Looked at the moment it exited: its cleanup has waited for everything it started to be gone.
  const leftDaemons = DAEMONS.flatMap((d) => pgrep(d).filter((pid) => !before[d].has(pid) && isOfRun(pid, run)));
  const left = pidsOfRun(run);
  const leftDescribed = { leftDaemons: leftDaemons.map(describePid), leftOthers: left.filter((pid) => !leftDaemons.includes(pid)).map(describePid) };
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2_000))]);
  child.stdout.destroy();
  child.stderr.destroy();
  rmSync(tmp, { recursive: true, force: true });
  console.log(`${script}: exit ${code ?? signal} after ${seconds.toFixed(1)} s`);
  return { code, signal, timedOut, seconds, stdout, stderr, seen, ...leftDescribed };
}

/** Exit 0 in time, and nothing of the sim left: asserted for every sim before its output. */
function expectCleanRun(r: SimRun, daemons: Partial<Record<Daemon, number>>): void {
  const output = `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect(r.timedOut, `no exit before the deadline (SIGTERM sent)\n${output}`).toBe(false);
  expect({ code: r.code, signal: r.signal }, output).toEqual({ code: 0, signal: null });
  // The leak checks below see only what pgrep can see: it must have seen the sim's servers run.
  for (const d of DAEMONS) expect(r.seen[d].size, `${d} processes of the sim seen while it ran`).toBeGreaterThanOrEqual(daemons[d] ?? 0);
  expect(r.leftDaemons, 'redis-server/redis-sentinel of the sim still running after it exited').toEqual([]);
  expect(r.leftOthers, 'other processes of the sim still running after it exited').toEqual([]);
}

interface Section {
  title: string;
  lines: string[];
}

/** The sim's stdout cut at its `== <step>` lines; trailing blanks (the sims' `tr '\n' ' '`) trimmed. */
function sections(stdout: string): Section[] {
  const out: Section[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.trimEnd();
    if (line.startsWith('== ')) out.push({ title: line.slice(3), lines: [] });
    else if (line && out.length > 0) out.at(-1)!.lines.push(line);
  }
  return out;
}

function lineMatching(s: Section, re: RegExp): RegExpExecArray {
  for (const line of s.lines) {
    const m = re.exec(line);
    if (m) return m;
  }
  throw new Error(`no line matches ${re} in step "${s.title}":\n${s.lines.join('\n')}`);
}

// Measured on this 2-core machine (load 4-5: a Go build and another suite running): the failover sim
// 30-32 s, the cluster sim 11-13 s. About 3x that before SIGTERM, plus room for its cleanup.
const FAILOVER_DEADLINE_MS = 95_000;
const CLUSTER_DEADLINE_MS = 40_000;
const CLEANUP_MS = 40_000;

beforeAll(() => {
  requireSimHost();
});

describe('redis-failover-sim.sh: redis-init.sh and sentinel-init.sh with 3 data nodes and 3 Sentinels', () => {
  const host = (i: number): string => `sa-redis-${i}.sa-redis-headless.ns.svc.local`;
  const podOf = (h: string): number => Number(/^sa-redis-(\d)\./.exec(h)![1]);

  /**
   * The three `role` lines and the `master` line of a step: the node the Sentinels name is the only
   * primary, with 2 replicas, and both others replicate it with the link up. Returns its ordinal.
   */
  function settledPrimary(s: Section): number {
    const roles = s.lines.filter((l) => l.startsWith('role:'));
    expect(roles, s.title).toHaveLength(3);
    const named = lineMatching(s, /^(sa-redis-\d\.\S+) 6379$/)[1]!;
    const p = podOf(named);
    roles.forEach((line, i) => {
      if (i === p) expect(line, `${s.title}: pod ${i}`).toBe('role:master connected_slaves:2');
      else expect(line, `${s.title}: pod ${i}`).toBe(`role:slave master_host:${named} master_link_status:up connected_slaves:0`);
    });
    return p;
  }

  /** The restarted pod's redis.conf: decided replica, of a pod other than itself; returns that pod. */
  function restartedAsReplica(s: Section, pod: number): number {
    expect(s.lines[0], s.title).toBe('# generated by redis-init.sh: role decided at start = replica');
    const target = podOf(lineMatching(s, /^replicaof (sa-redis-\d\.\S+) 6379$/)[1]!);
    expect(target, `${s.title}: replicaof`).not.toBe(pod);
    return target;
  }

  /** Its init log: it held back while the Sentinels still named it, then followed their new primary. */
  function heldBackThenFollowed(stderr: string, pod: number, target: number): void {
    const tag = `redis-init[sa-redis-${pod}]: `;
    const log = stderr.split('\n').filter((l) => l.startsWith(tag)).map((l) => l.slice(tag.length));
    const follow = log.lastIndexOf(`sentinels name ${host(target)}:6379 as primary: starting as its replica`);
    expect(follow, `${tag}follows ${host(target)}\n${log.join('\n')}`).toBeGreaterThan(0);
    expect(log[follow - 1], `${tag}waited before that`).toMatch(
      /^sentinels (name this pod and know \d+ replica\(s\): waiting for their failover|still name this pod but flag it '[^']*': waiting for the new primary)/,
    );
  }

  it(
    'fresh install, primary killed with its volume, primary killed and restarted at once, a Sentinel restarted',
    async () => {
      const r = await runSim('redis-failover-sim.sh', FAILOVER_DEADLINE_MS);
      expectCleanRun(r, { 'redis-server': 3, 'redis-sentinel': 3 });
      expect(r.stdout).not.toContain('not settled');
      const steps = sections(r.stdout);
      expect(steps.map((s) => s.title)).toEqual([
        'fresh install: data inits in parallel, then servers, then sentinels',
        'kill primary pod-0 (SIGKILL) and lose its PVC',
        'kill current primary, restart it immediately with its data',
        'restart a sentinel: it must learn the current primary from its peers',
      ]);
      const [fresh, lostVolume, restart, sentinel] = steps as [Section, Section, Section, Section];

      // Pod-0 bootstraps alone, the others wait for the Sentinels and then replicate pod-0, and the
      // Sentinels start monitoring it: one primary, two linked replicas, a write accepted.
      expect(settledPrimary(fresh)).toBe(0);
      expect(fresh.lines.at(-1)).toBe('OK');
      expect(r.stderr).toContain('redis-init[sa-redis-0]: no sentinel answers, pod-0 without data: bootstrap primary');
      for (const i of [1, 2]) expect(r.stderr).toContain(`redis-init[sa-redis-${i}]: no sentinel answered within 6s: replica of pod-0`);
      for (const i of [0, 1, 2]) expect(r.stderr).toMatch(new RegExp(`sentinel-init\\[sa-sentinel-${i}\\]: wrote \\S+ \\(monitoring ${host(0).replace(/\./g, '\\.')}:6379\\)`));

      // The emptied pod-0 never comes back as the (empty) primary: it replicates the new one, and
      // has the key written before the kill once it has synced.
      const afterLoss = restartedAsReplica(lostVolume, 0);
      heldBackThenFollowed(r.stderr, 0, afterLoss);
      expect(settledPrimary(lostVolume), 'pod-0 is a replica').not.toBe(0);
      expect(lostVolume.lines.at(-1)).toBe('key after failover+rejoin (on pod-0 replica): v');

      // Same for a primary restarted at once with all its data.
      const killed = settledPrimary(lostVolume);
      const afterRestart = restartedAsReplica(restart, killed);
      heldBackThenFollowed(r.stderr, killed, afterRestart);
      const current = settledPrimary(restart);
      expect(current, `pod ${killed}, restarted, is a replica`).not.toBe(killed);

      // A Sentinel that lost its config monitors what its peers say, not pod-0 or a data node's claim.
      expect(sentinel.lines).toEqual([`sentinel monitor mymaster ${host(current)} 6379 2`]);
      expect(r.stderr).toMatch(new RegExp(`sentinel-init\\[sa-sentinel-2\\]: sentinel sa-sentinel-[01]\\.\\S+ monitors ${host(current).replace(/\./g, '\\.')}:6379`));
    },
    FAILOVER_DEADLINE_MS + CLEANUP_MS,
  );
});

describe('redis-cluster-sim.sh: cluster-init.sh, cluster-bootstrap.sh and cluster-prestop.sh with 6 nodes', () => {
  const ip = (i: number): string => `127.0.3.${i + 1}`;
  const podOf = (addr: string): number => Number(/^127\.0\.3\.(\d)$/.exec(addr)![1]) - 1;
  const SHARDS = ['0-5460', '5461-10922', '10923-16383'];

  interface Node {
    ip: string;
    flags: string[];
    slots: string;
  }

  /**
   * A step's `nodes` table (pod-0's CLUSTER NODES): 6 nodes, none failed, 3 primaries that between
   * them serve the 3 shards, 3 replicas. `demoting`: a node pod-0 may still list as a primary, of
   * no slot (the sim prints the table right after the handover, before gossip has told pod-0 that
   * the node turned replica; its preStop has seen that itself). Returns the table by node.
   */
  function wholeCluster(s: Section, demoting?: number): Map<string, Node> {
    const rows = s.lines.filter((l) => /^127\.0\.3\.\d:7379 /.test(l));
    const nodes = new Map<string, Node>();
    for (const row of rows) {
      const [addr, flags, slots = ''] = row.split(' ');
      nodes.set(addr!.split(':')[0]!, { ip: addr!.split(':')[0]!, flags: flags!.split(','), slots });
    }
    expect(rows, `${s.title}: one row per node`).toHaveLength(6);
    expect(nodes.size, s.title).toBe(6);
    const all = [...nodes.values()];
    expect(all.filter((n) => n.flags.some((f) => /fail|noaddr|handshake/.test(f))), `${s.title}: failed nodes`).toEqual([]);
    const lagging = (n: Node): boolean => demoting !== undefined && n.ip === ip(demoting) && n.flags.includes('master') && n.slots === '';
    const primaries = all.filter((n) => n.flags.includes('master') && !lagging(n));
    expect(primaries.map((n) => n.slots).sort(), `${s.title}: shards`).toEqual([...SHARDS].sort());
    expect(all.filter((n) => n.flags.includes('slave') || lagging(n)).map((n) => n.slots), `${s.title}: replicas`).toEqual(['', '', '']);
    return nodes;
  }

  const primaryOfSlot0 = (nodes: Map<string, Node>): number => podOf([...nodes.values()].find((n) => n.slots === SHARDS[0])!.ip);
  const isReplica = (nodes: Map<string, Node>, pod: number): boolean => nodes.get(ip(pod))!.flags.includes('slave');

  it(
    'fresh install, primary killed and restarted at once, a replica that lost its volume, a graceful handover',
    async () => {
      const r = await runSim('redis-cluster-sim.sh', CLUSTER_DEADLINE_MS);
      expectCleanRun(r, { 'redis-server': 6 });
      expect(r.stdout).not.toContain('cluster_state not ok everywhere');
      expect(r.stdout).not.toContain('replicas not linked');
      const steps = sections(r.stdout);
      expect(steps).toHaveLength(4);
      const [fresh, crash, lostVolume, handover] = steps as [Section, Section, Section, Section];
      expect(fresh.title).toBe('fresh install: every init, every server, every sidecar');

      // The sidecars form the cluster (the last lines of pod-0's are redis-cli --cluster create's);
      // each node announces its own Service's address and name.
      for (const line of ['cluster-announce-ip 127.0.3.2', 'cluster-announce-port 7379', 'cluster-announce-bus-port 17379', 'cluster-announce-hostname sa-redis-1.ns.svc.local']) {
        expect(fresh.lines, line).toContain(line);
      }
      const formed = wholeCluster(fresh);
      expect(fresh.lines).toContain('SET {b}k v + WAIT 1: OK 1');
      // eslint-disable-next-line no-control-regex
      expect(fresh.lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''))).toContain('[OK] All 16384 slots covered.');
      expect(fresh.lines).toContain('slot of {b}k: 3300');

      // The killed primary, restarted with its nodes.conf, waits for its replica's election and
      // rejoins as a replica instead of racing it.
      const killed = primaryOfSlot0(formed);
      expect(crash.title).toBe(`kill -9 the primary of slot 0 (pod ${killed}) and restart it at once with its nodes.conf`);
      expect(Number(lineMatching(crash, /^init held it back (\d+) s$/)[1]), 'seconds held back').toBeGreaterThanOrEqual(1);
      const tag = `cluster-init[sa-redis-${killed}]: `;
      expect(r.stderr).toContain(`${tag}a replica of this node is healthy and its slots are still this node's: waiting for the failover`);
      expect(r.stderr).toMatch(new RegExp(`${tag.replace(/[[\]]/g, '\\$&')}127\\.0\\.3\\.\\d:7379 names [0-9a-f]{40} as the primary of slot 0: starting \\(it rejoins as a replica\\)`));
      const afterCrash = wholeCluster(crash);
      expect(isReplica(afterCrash, killed), `pod ${killed} is a replica`).toBe(true);
      expect(primaryOfSlot0(afterCrash)).not.toBe(killed);

      // An empty replica's sidecar forgets the node it replaces and joins as a replica.
      expect(lostVolume.title).toBe('a replica loses its volume (nodes.conf and AOF) and comes back empty');
      const emptied = Number(lineMatching(lostVolume, /^cluster-bootstrap\[sa-redis-(\d)\]: forgot [0-9a-f]{40}, the failed node this one replaces$/)[1]);
      expect(isReplica(afterCrash, emptied), `pod ${emptied} was a replica`).toBe(true);
      lineMatching(lostVolume, new RegExp(`^cluster-bootstrap\\[sa-redis-${emptied}\\]: joined the cluster through 127\\.0\\.3\\.\\d as a replica of [0-9a-f]{40}$`));
      const rejoined = wholeCluster(lostVolume);
      expect(isReplica(rejoined, emptied), `pod ${emptied} is a replica`).toBe(true);

      // A graceful stop of slot 0's primary hands the shard to its replica before SIGTERM.
      const stopped = primaryOfSlot0(rejoined);
      expect(handover.title).toBe(`graceful stop of the primary of slot 0 (pod ${stopped}): its preStop hands over`);
      const to = new RegExp(`cluster-prestop\\[sa-redis-${stopped}\\]: handed over to (127\\.0\\.3\\.\\d):7379`).exec(r.stderr);
      expect(to, `cluster-prestop[sa-redis-${stopped}] handed over\n${r.stderr}`).not.toBeNull();
      const handedOver = wholeCluster(handover, stopped);
      expect(handedOver.get(ip(stopped))!.slots, `pod ${stopped} serves no slot`).toBe('');
      expect(primaryOfSlot0(handedOver)).toBe(podOf(to![1]!));
      expect(handover.lines.at(-1)).toBe('key {b}k: v');
    },
    CLUSTER_DEADLINE_MS + CLEANUP_MS,
  );
});
