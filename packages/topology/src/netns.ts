/**
 * A private network of Linux network namespaces, for real partitions.
 *
 * Layout: one "switch" namespace holding a bridge; one namespace per node (Redis node, sentinel,
 * app replica), each with a veth `eth0` plugged into that bridge and one address of a private /24
 * (10.77.X.0/24, X picked so that it is not in use on this machine); and one veth from the
 * switch to the root namespace with the .254 address, so that the harness (ingress, load driver,
 * topology checks) reaches every node. The bridge lives in its own namespace so that the root
 * namespace's iptables and br_netfilter (a Kubernetes node's) never see this traffic.
 *
 * Partitions are cut without iptables: `drop(sender, receivers)` gives the sender a permanent
 * neighbour entry for each receiver that points at the bridge's own MAC address. The frames reach
 * the switch namespace's stack, which does not forward, and vanish: a silent drop in one
 * direction, like a real partition (no RST, no ICMP), and healing is deleting the entry. A
 * symmetric partition drops both ways; an asymmetric one only one way.
 *
 * Everything created is named `<prefix>-...` with a prefix unique to this run, recorded in
 * resources(), and removed by destroy() (async) or destroySync() (on process exit, via the
 * topology reaper): processes still inside one of our namespaces are killed by pid first.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { onProcessExit } from './process.js';

const IP = 'ip';

export interface NetNode {
  readonly name: string;
  /** network namespace name */
  readonly ns: string;
  readonly ip: string;
}

export interface NetLabResources {
  prefix: string;
  subnet: string;
  hostLink: string;
  hostIp: string;
  namespaces: string[];
}

export interface NetLab {
  readonly prefix: string;
  /** The root namespace's address on the lab network (the harness side). */
  readonly hostIp: string;
  addNode(name: string): Promise<NetNode>;
  node(name: string): NetNode;
  nodes(): NetNode[];
  /** Command prefix that runs a program inside the node's namespace (execs: the pid is the program's). */
  execPrefix(node: NetNode): string[];
  /** addNode(name) as a topology Placement: its address and command prefix. */
  place(name: string): Promise<{ host: string; execPrefix: string[] }>;
  /** Packets sent by `sender` to any of `receivers` are dropped from now on. */
  drop(sender: NetNode, receivers: NetNode[]): Promise<void>;
  /** Both directions between every member of `a` and every member of `b`. */
  split(a: NetNode[], b: NetNode[]): Promise<void>;
  /** Removes every drop. */
  heal(): Promise<void>;
  /** Drops in effect: sender name -> receiver names. */
  blocked(): Record<string, string[]>;
  resources(): NetLabResources;
  destroy(): Promise<void>;
  destroySync(): void;
}

function run(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(IP, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function runSync(args: string[]): string {
  return execFileSync(IP, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/** True when this process may create network namespaces (root with the `ip` tool). */
export function netnsAvailable(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'network namespaces need Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root (ip netns add)' };
  try {
    runSync(['-V']);
  } catch {
    return { ok: false, reason: 'the `ip` tool (iproute2) is not installed' };
  }
  return { ok: true };
}

/** Every network namespace name on this machine. */
export function listNamespaces(): string[] {
  const out = runSync(['netns', 'list']);
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

/** Every link name in the root namespace. */
export function listRootLinks(): string[] {
  const out = runSync(['-o', 'link', 'show']);
  return out.split('\n').flatMap((l) => {
    const m = /^\d+:\s+([^:@\s]+)/.exec(l);
    return m?.[1] ? [m[1]] : [];
  });
}

/** 10.77.X.0/24 with X not on any root address or route, nor in a namespace of ours still around. */
function pickSubnet(): string {
  const used = runSync(['-4', '-o', 'addr', 'show']) + runSync(['-4', 'route', 'show', 'table', 'all']);
  for (let attempt = 0; attempt < 200; attempt++) {
    const x = 1 + Math.floor(Math.random() * 254);
    const subnet = `10.77.${x}`;
    if (!used.includes(`${subnet}.`)) return subnet;
  }
  throw new Error('no free 10.77.X.0/24 subnet');
}

export interface NetLabOptions {
  /** Default `sa` + 6 random hex digits: namespaces are `<prefix>-sw`, `<prefix>-<node>`, the root link `<prefix>h`. */
  prefix?: string;
  /** Where to write resources() as JSON (what was created, for a manual cleanup). */
  recordFile?: string;
}

class Lab implements NetLab {
  readonly hostIp: string;
  private readonly sw: string;
  private readonly hostLink: string;
  private readonly namespaces: string[] = [];
  private readonly byName = new Map<string, NetNode>();
  private readonly drops = new Map<string, Set<string>>();
  private sinkMac = '';
  private next = 1;
  private destroyed = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly prefix: string,
    private readonly subnet: string,
    private readonly recordFile: string | undefined,
  ) {
    this.sw = `${prefix}-sw`;
    this.hostLink = `${prefix}h`;
    this.hostIp = `${subnet}.254`;
  }

  private record(): void {
    if (this.recordFile) writeFileSync(this.recordFile, `${JSON.stringify(this.resources(), null, 2)}\n`);
  }

  async init(): Promise<void> {
    this.namespaces.push(this.sw);
    this.record();
    await run(['netns', 'add', this.sw]);
    await run(['-n', this.sw, 'link', 'add', 'br0', 'type', 'bridge']);
    await run(['-n', this.sw, 'link', 'set', 'br0', 'up']);
    const links = JSON.parse(await run(['-n', this.sw, '-j', 'link', 'show', 'br0'])) as { address: string }[];
    this.sinkMac = links[0]?.address ?? '';
    if (!this.sinkMac) throw new Error('could not read the bridge MAC address');
    await run(['link', 'add', this.hostLink, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', this.sw]);
    await run(['-n', this.sw, 'link', 'set', 'uplink', 'master', 'br0', 'up']);
    await run(['addr', 'add', `${this.hostIp}/24`, 'dev', this.hostLink]);
    await run(['link', 'set', this.hostLink, 'up']);
  }

  async addNode(name: string): Promise<NetNode> {
    if (this.byName.has(name)) throw new Error(`node ${name} exists`);
    if (this.next > 250) throw new Error('lab is full');
    const index = this.next++;
    const node: NetNode = { name, ns: `${this.prefix}-${name}`, ip: `${this.subnet}.${index}` };
    this.byName.set(name, node);
    this.namespaces.push(node.ns);
    this.record();
    const port = `p${index}`;
    await run(['netns', 'add', node.ns]);
    await run(['-n', node.ns, 'link', 'set', 'lo', 'up']);
    await run(['-n', node.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', this.sw]);
    await run(['-n', this.sw, 'link', 'set', port, 'master', 'br0', 'up']);
    await run(['-n', node.ns, 'addr', 'add', `${node.ip}/24`, 'dev', 'eth0']);
    await run(['-n', node.ns, 'link', 'set', 'eth0', 'up']);
    return node;
  }

  node(name: string): NetNode {
    const n = this.byName.get(name);
    if (!n) throw new Error(`no node ${name} in lab ${this.prefix}`);
    return n;
  }

  nodes(): NetNode[] {
    return [...this.byName.values()];
  }

  execPrefix(node: NetNode): string[] {
    return [IP, 'netns', 'exec', node.ns];
  }

  async place(name: string): Promise<{ host: string; execPrefix: string[] }> {
    const node = await this.addNode(name);
    return { host: node.ip, execPrefix: this.execPrefix(node) };
  }

  /** Serialised: a cut and a heal racing (the flapping link) must apply in order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private applyNeigh(sender: NetNode, lines: string[]): Promise<string> {
    return run(['-n', sender.ns, '-batch', '-'], `${lines.join('\n')}\n`);
  }

  drop(sender: NetNode, receivers: NetNode[]): Promise<void> {
    return this.serial(async () => {
      const set = this.drops.get(sender.name) ?? new Set<string>();
      this.drops.set(sender.name, set);
      const lines = receivers.filter((r) => r !== sender).map((r) => {
        set.add(r.name);
        return `neigh replace ${r.ip} lladdr ${this.sinkMac} nud permanent dev eth0`;
      });
      if (lines.length) await this.applyNeigh(sender, lines);
    });
  }

  async split(a: NetNode[], b: NetNode[]): Promise<void> {
    await Promise.all([...a.map((n) => this.drop(n, b)), ...b.map((n) => this.drop(n, a))]);
  }

  heal(): Promise<void> {
    return this.serial(async () => {
      const work = [...this.drops].map(async ([sender, receivers]) => {
        const s = this.node(sender);
        const lines = [...receivers].map((r) => `neigh del ${this.node(r).ip} dev eth0`);
        if (lines.length) await this.applyNeigh(s, lines);
      });
      this.drops.clear();
      await Promise.all(work);
    });
  }

  blocked(): Record<string, string[]> {
    return Object.fromEntries([...this.drops].map(([s, r]) => [s, [...r].sort()]));
  }

  resources(): NetLabResources {
    return { prefix: this.prefix, subnet: `${this.subnet}.0/24`, hostLink: this.hostLink, hostIp: this.hostIp, namespaces: [...this.namespaces] };
  }

  /** Pids of processes inside our namespaces (ours by construction: nothing else runs there). */
  private pidsSync(): number[] {
    const present = new Set(listNamespaces());
    return this.namespaces.filter((ns) => present.has(ns)).flatMap((ns) => {
      try {
        return runSync(['netns', 'pids', ns]).split('\n').filter(Boolean).map(Number);
      } catch {
        return [];
      }
    });
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const pid of this.pidsSync()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    const errors: string[] = [];
    // The root link first: deleting its peer's namespace removes it only asynchronously.
    if (listRootLinks().includes(this.hostLink)) {
      try {
        runSync(['link', 'del', this.hostLink]);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    const present = new Set(listNamespaces());
    for (const ns of [...this.namespaces].reverse()) {
      if (!present.has(ns)) continue;
      try {
        runSync(['netns', 'del', ns]);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length) throw new Error(`netns teardown of ${this.prefix}: ${errors.join('; ')}`);
  }

  async destroy(): Promise<void> {
    // Let a cut or heal in flight finish, then tear down (synchronous: a handful of ip calls).
    await this.chain;
    this.destroySync();
  }
}

/** Creates the switch namespace and the root link; nodes are added with addNode(). */
export async function createNetLab(opts: NetLabOptions = {}): Promise<NetLab> {
  const avail = netnsAvailable();
  if (!avail.ok) throw new Error(avail.reason);
  const prefix = opts.prefix ?? `sa${randomBytes(3).toString('hex')}`;
  if (!/^[a-z][a-z0-9]{1,9}$/.test(prefix)) throw new RangeError(`netns prefix must be 2-10 lower-case letters/digits, got "${prefix}"`);
  const lab = new Lab(prefix, pickSubnet(), opts.recordFile);
  // Registered before anything exists, so an exit at any point below still tears down.
  onProcessExit(() => lab.destroySync());
  try {
    await lab.init();
  } catch (err) {
    lab.destroySync();
    throw err;
  }
  return lab;
}

/** What of a lab with this prefix is still on the machine (for leak checks). */
export function leftovers(prefix: string): { namespaces: string[]; links: string[] } {
  return {
    namespaces: listNamespaces().filter((n) => n.startsWith(`${prefix}-`)),
    links: listRootLinks().filter((l) => l.startsWith(prefix)),
  };
}
