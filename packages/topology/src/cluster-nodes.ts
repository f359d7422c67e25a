/**
 * What a Redis Cluster's nodes say about it, read the same way wherever the nodes run: the local
 * topology on loopback (cluster.ts) and the chaos runner's Kubernetes platform, whose nodes are
 * pods behind their Services' ClusterIPs.
 */
import { command, parseInfo, RespError, type RespValue } from './resp.js';

export const CLUSTER_SLOTS = 16_384;

/** One line of CLUSTER NODES: `<id> <ip:port@bus[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...` */
export interface ClusterNodeLine {
  id: string;
  host: string;
  port: number;
  /** cluster-announce-hostname, when the node announces one (Redis >= 7). */
  hostname: string;
  flags: string[];
  /** The id of the primary a replica follows, `-` for a primary. */
  masterId: string;
  linkState: string;
  /** Inclusive slot ranges served; "[slot->-id]" migration marks are noted in `migrating` instead. */
  slots: [number, number][];
  migrating: boolean;
}

export function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const f = line.trim().split(' ');
      const [addr = '', hostname = ''] = (f[1] ?? '').split(',');
      const hostPort = addr.split('@')[0] ?? '';
      const colon = hostPort.lastIndexOf(':');
      const slots: [number, number][] = [];
      let migrating = false;
      for (const s of f.slice(8)) {
        if (s.startsWith('[')) {
          migrating = true;
          continue;
        }
        const [a, b] = s.split('-');
        slots.push([Number(a), Number(b ?? a)]);
      }
      return {
        id: f[0]!,
        host: hostPort.slice(0, Math.max(0, colon)),
        port: Number(hostPort.slice(colon + 1)),
        hostname,
        flags: (f[2] ?? '').split(','),
        masterId: f[3] ?? '-',
        linkState: f[7] ?? '',
        slots,
        migrating,
      };
    });
}

/** A node the health check asks: `name` only labels its answers. */
export interface ClusterNodeEndpoint {
  name: string;
  host: string;
  port: number;
}

const QUERY_TIMEOUT_MS = 1000;
const addressOf = (n: { host: string; port: number }): string => `${n.host}:${n.port}`;

export async function askNode(node: ClusterNodeEndpoint, args: (string | number)[], password?: string): Promise<RespValue> {
  const reply = await command({ host: node.host, port: node.port, password }, args.map(String), QUERY_TIMEOUT_MS);
  if (reply instanceof RespError) throw new Error(`${node.name}: ${args.join(' ')}: ${reply.message}`);
  return reply;
}

export interface ClusterHealthOptions {
  /** How many nodes the cluster has: every one must be known to every node asked. */
  expectedNodes: number;
  replicasPerPrimary: number;
  password?: string;
}

/**
 * Why the cluster is not whole (undefined: it is): every node asked agrees the state is ok with
 * every slot served, knows every node, flags none of the nodes asked as failing, sees no slot in
 * migration; every replica's link is up; and, when every node is up, every primary has its
 * replicas linked and CLUSTER SLOTS lists them (what clients discover). `nodes` are those up:
 * a node that is down (a fault in progress) may be flagged without making the others unhealthy.
 */
export async function clusterHealthProblem(nodes: readonly ClusterNodeEndpoint[], opts: ClusterHealthOptions): Promise<string | undefined> {
  const { password } = opts;
  if (nodes.length === 0) return 'no node running';
  const up = new Set(nodes.map(addressOf));
  for (const n of nodes) {
    const info = parseInfo(await askNode(n, ['CLUSTER', 'INFO'], password));
    if (info.cluster_state !== 'ok') return `${n.name}: cluster_state ${info.cluster_state}`;
    if (Number(info.cluster_slots_ok) !== CLUSTER_SLOTS) return `${n.name}: ${info.cluster_slots_ok} slots ok`;
    if (Number(info.cluster_known_nodes) < opts.expectedNodes) return `${n.name} knows ${info.cluster_known_nodes} nodes`;
    const lines = parseClusterNodes(String(await askNode(n, ['CLUSTER', 'NODES'], password)));
    const bad = lines.find((l) => up.has(addressOf(l)) && l.flags.some((f) => f === 'fail' || f === 'fail?' || f === 'handshake' || f === 'noaddr'));
    if (bad) return `${n.name} flags ${addressOf(bad)} ${bad.flags.join(',')}`;
    if (lines.some((l) => l.migrating)) return `${n.name} sees a slot migration in progress`;
  }
  const allUp = nodes.length >= opts.expectedNodes;
  for (const n of nodes) {
    const repl = parseInfo(await askNode(n, ['INFO', 'replication'], password));
    if (repl.role === 'slave' && repl.master_link_status !== 'up') return `${n.name}: link to its primary ${repl.master_link_status}`;
    // With every node up, every primary has its replicas back (a restarted one resyncs first).
    if (allUp && repl.role === 'master' && Number(repl.connected_slaves ?? 0) < opts.replicasPerPrimary) {
      return `${n.name} (primary) has ${repl.connected_slaves ?? 0} of ${opts.replicasPerPrimary} replicas linked`;
    }
  }
  if (allUp) {
    // What clients discover: every range lists its replicas (see repl-ping-replica-period).
    const ranges = (await askNode(nodes[0]!, ['CLUSTER', 'SLOTS'], password)) as RespValue[][];
    const short = ranges.find((r) => r.length - 3 < opts.replicasPerPrimary);
    if (short) return `CLUSTER SLOTS lists ${short.length - 3} replicas for slots ${String(short[0])}-${String(short[1])}`;
  }
  return undefined;
}
