/**
 * Pure decisions of the Kubernetes platform, unit-tested without a cluster: which pod is the
 * primary Sentinel names (or, in a Redis Cluster, a shard's primary), and which pod each
 * experiment deletes.
 */
import type { ClusterNodeLine } from '@session-auth/topology';
import type { FaultKind } from '../figures.js';

/** The part of a V1Pod these functions read (a V1Pod is assignable to it). */
export interface PodLike {
  metadata?: { name?: string; uid?: string; labels?: Record<string, string>; deletionTimestamp?: Date | string };
  status?: { podIP?: string; podIPs?: { ip?: string }[]; phase?: string; conditions?: { type?: string; status?: string }[] };
}

export interface HostPort {
  host: string;
  port: number;
}

/** "h:p,h:p" -> [{host, port}]; IPv6 in brackets ("[::1]:26379") supported. */
export function parseHostPorts(list: string, defaultPort = 26379): HostPort[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
      if (v6) return { host: v6[1] as string, port: v6[2] ? Number(v6[2]) : defaultPort };
      const idx = item.lastIndexOf(':');
      if (idx <= 0) return { host: item, port: defaultPort };
      const port = Number(item.slice(idx + 1));
      if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad port in "${item}"`);
      return { host: item.slice(0, idx), port };
    });
}

export const podName = (p: PodLike): string => p.metadata?.name ?? '';

export function isReady(p: PodLike): boolean {
  if (p.metadata?.deletionTimestamp) return false;
  return p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Does `host` (what Sentinel announces: an IP, or with announce-hostnames a stable name such as
 * `<pod>.<headless-svc>.<ns>.svc.cluster.local`) denote this pod?
 */
export function podMatchesHost(pod: PodLike, host: string): boolean {
  const h = host.trim().toLowerCase().replace(/\.$/, '');
  if (!h) return false;
  const ips = [pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((i) => i.ip)].filter(Boolean);
  if (ips.includes(h)) return true;
  const name = podName(pod).toLowerCase();
  return name !== '' && (h === name || h.startsWith(`${name}.`));
}

/** The pod Sentinel's answer points at; throws when none or several match (never guess which to delete). */
export function selectPodByAddress(pods: PodLike[], host: string): PodLike {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  const matches = live.filter((p) => podMatchesHost(p, host));
  if (matches.length === 1) return matches[0] as PodLike;
  if (matches.length === 0) throw new Error(`no pod matches Sentinel's primary address "${host}" (pods: ${live.map(podName).join(', ') || 'none'})`);
  throw new Error(`several pods match "${host}": ${matches.map(podName).join(', ')}`);
}

export interface VictimInput {
  kind: FaultKind;
  topology: 'standalone' | 'sentinel' | 'cluster';
  redisPods: PodLike[];
  sentinelPods: PodLike[];
  appPods: PodLike[];
  /** Sentinel's get-master-addr-by-name answer (sentinel topology) */
  primary?: HostPort;
  /** CLUSTER NODES as a node answered it (cluster topology) */
  clusterNodes?: ClusterNodeLine[];
  /** Cluster: ids of primaries not to pick while another shard qualifies (see KubernetesPlatform.kill). */
  avoidPrimaries?: ReadonlySet<string>;
}

/** A shard: the primary serving `slots` (none of the nodes flags it failing) and its replicas. */
export interface ClusterShardView {
  primary: ClusterNodeLine;
  replicas: ClusterNodeLine[];
  slots: [number, number][];
}

/** The shards in slot order (the first serves slot 0 unless a reshard moved it): what kill-primary picks from. */
export function clusterShards(lines: ClusterNodeLine[]): ClusterShardView[] {
  return lines
    .filter((l) => l.flags.includes('master') && !l.flags.some((f) => f.startsWith('fail')) && l.slots.length > 0)
    .map((m) => ({ primary: m, slots: m.slots, replicas: lines.filter((r) => r.masterId === m.id) }))
    .sort((a, b) => a.slots[0]![0] - b.slots[0]![0]);
}

/** The pod behind a cluster node: its announced hostname is `<pod>.<ns>.svc.<domain>` (cluster-init.sh). */
export function podOfClusterNode(pods: PodLike[], node: ClusterNodeLine): PodLike {
  if (!node.hostname) throw new Error(`cluster node ${node.id} (${node.host}:${node.port}) announces no hostname: cannot tell its pod (needs cluster-announce-hostname, Redis >= 7)`);
  return selectPodByAddress(pods, node.hostname);
}

const byName = (a: PodLike, b: PodLike): number => podName(a).localeCompare(podName(b));

/**
 * The pod each experiment deletes. Deterministic (sorted by name) so reruns are comparable; only
 * ready pods qualify except for the primary itself (it must be deleted whatever its state).
 */
export function selectVictim(input: VictimInput): PodLike {
  const { kind, topology } = input;
  switch (kind) {
    case 'kill-primary': {
      if (topology === 'cluster') {
        // The first shard's primary, as the local platform picks it (its users, about 1/N, are hit),
        // unless it is to be avoided and another one is not.
        const shards = clusterShards(input.clusterNodes ?? []);
        const shard = shards.find((sh) => !input.avoidPrimaries?.has(sh.primary.id)) ?? shards[0];
        if (!shard) throw new Error('kill-primary on cluster: no node reports a primary serving slots');
        return podOfClusterNode(input.redisPods, shard.primary);
      }
      if (topology === 'standalone') {
        const live = input.redisPods.filter((p) => !p.metadata?.deletionTimestamp);
        if (live.length !== 1) throw new Error(`standalone expects exactly one redis pod, found ${live.length}`);
        return live[0] as PodLike;
      }
      if (!input.primary) throw new Error('kill-primary on sentinel needs Sentinel to name the primary');
      return selectPodByAddress(input.redisPods, input.primary.host);
    }
    case 'kill-replica': {
      if (topology !== 'sentinel' || !input.primary) throw new Error('kill-replica needs the sentinel topology');
      const primary = selectPodByAddress(input.redisPods, input.primary.host);
      const replica = input.redisPods.filter((p) => p !== primary && isReady(p)).sort(byName)[0];
      if (!replica) throw new Error('no ready replica pod to delete');
      return replica;
    }
    case 'kill-sentinel': {
      const ready = input.sentinelPods.filter(isReady).sort(byName);
      // Deleting one of fewer than 3 would leave no majority: refuse rather than cause an outage we did not mean to.
      if (ready.length < 3) throw new Error(`kill-sentinel needs >= 3 ready sentinel pods, found ${ready.length}`);
      return ready[ready.length - 1] as PodLike;
    }
    case 'kill-app-replica': {
      const ready = input.appPods.filter(isReady).sort(byName);
      if (ready.length < 2) throw new Error(`kill-app-replica needs >= 2 ready app pods, found ${ready.length}`);
      return ready[0] as PodLike;
    }
    case 'restart-primary-empty':
    case 'restart-primary-empty-guarded':
      throw new Error('restart-primary-empty is local-only (it needs to wipe the data dir between kill and start)');
    default:
      throw new Error(`unknown experiment ${String(kind)}`);
  }
}

/** Recovered after a pod deletion: as many ready pods as before, none of them the deleted incarnation. */
export function replacedAndReady(before: PodLike[], now: PodLike[], deletedUid?: string): boolean {
  const ready = now.filter(isReady);
  return ready.length >= before.filter(isReady).length && (deletedUid === undefined || !ready.some((p) => p.metadata?.uid === deletedUid));
}
