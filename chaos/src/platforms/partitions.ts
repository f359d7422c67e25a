/**
 * Real network partitions of a netns cluster (cluster network 'netns'): which processes end up on
 * which side for each partition experiment, the cut itself (topology's NetLab: packets dropped
 * silently in the node namespaces), a flapping link, and a raw write probe on the old primary.
 */
import { command, type NetLab, type NetNode, type RedisProcess, type SentinelTopology } from '@session-auth/topology';
import type { Cluster } from '../cluster/index.js';
import type { Fault, PartitionInfo, PartitionKind } from '../figures.js';
import { sleep } from '../util.js';

/** Cut and heal phases of the flapping link (ms). */
export const FLAP_CUT_MS = 400;
export const FLAP_HEAL_MS = 400;
const PROBE_EVERY_MS = 100;
const PROBE_TIMEOUT_MS = 300;

export interface ActivePartition {
  fault: Fault;
  /** Heal for good (stops a flapping link and the probe first). */
  heal(): Promise<void>;
  /** After the heal and health: how much of what the old primary accepted survived. */
  settle(): Promise<void>;
}

interface Sides {
  minority: string[];
  majority: string[];
  minorityApps: string[];
  /** one-way drops (asymmetric) instead of a split of the two sides */
  oneWay?: { sender: string; receivers: string[] };
  /** the raw probe's target: the old primary, when it is on the cut-off side */
  probe?: RedisProcess;
  detail: string;
}

async function sides(kind: PartitionKind, topo: SentinelTopology, apps: string[]): Promise<Sides> {
  const primary = await topo.currentPrimary();
  const replicas = topo.redisNodes.filter((n) => n !== primary).map((n) => n.name);
  const sentinels = topo.sentinels.map((s) => s.name);
  const [app1, ...otherApps] = apps;
  if (!app1) throw new Error('no app replica');
  switch (kind) {
    case 'partition-primary':
    case 'partition-flapping':
      return {
        minority: [primary.name, app1],
        majority: [...replicas, ...sentinels, ...otherApps],
        minorityApps: [app1],
        probe: primary,
        detail: `${primary.name} and ${app1} cut off from the replicas, the sentinels and the other app replicas`,
      };
    case 'partition-sentinels': {
      const [s1, ...rest] = sentinels;
      return {
        minority: [primary.name, s1!, app1],
        majority: [...replicas, ...rest, ...otherApps],
        minorityApps: [app1],
        probe: primary,
        detail: `sentinels split 1/2: ${s1} stays with ${primary.name} and ${app1}; ${rest.join(', ')} with the replicas`,
      };
    }
    case 'partition-asymmetric':
      // No failover is expected (the sentinels still reach the primary): every app keeps writing
      // to it, so every app's writes are "the minority's" here.
      return {
        minority: [primary.name],
        majority: replicas,
        minorityApps: apps,
        oneWay: { sender: primary.name, receivers: replicas },
        probe: primary,
        detail: `packets from ${primary.name} to ${replicas.join(', ')} dropped; everything else flows (the primary still hears its replicas and the sentinels)`,
      };
    case 'partition-app':
      return {
        minority: [app1],
        majority: [...topo.redisNodes.map((n) => n.name), ...sentinels],
        minorityApps: [app1],
        detail: `${app1} cut off from every Redis node and sentinel (the ingress still reaches it)`,
      };
  }
}

/**
 * SET every 100 ms on `node` from the harness until stop(); only answers that arrive while a cut is
 * in effect count (a flapping link heals in between).
 */
function startProbe(node: RedisProcess, tag: string, info: NonNullable<PartitionInfo['probe']>, cut: () => boolean): { keys: string[]; stop(): Promise<void> } {
  let running = true;
  const keys: string[] = [];
  const loop = (async () => {
    for (let seq = 0; running; seq += 1) {
      const started = Date.now();
      const key = `chaos:probe:${tag}:${seq}`;
      try {
        await command({ host: node.host, port: node.port }, ['SET', key, String(started), 'PX', '600000'], PROBE_TIMEOUT_MS);
        if (cut()) {
          info.accepted += 1;
          info.lastAcceptedAt = Date.now();
          keys.push(key);
        }
      } catch (err) {
        if (cut()) info.refused += 1;
        info.lastError = (err as Error).message.slice(0, 120);
      }
      await sleep(Math.max(0, started + PROBE_EVERY_MS - Date.now()));
    }
  })();
  return {
    keys,
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function countExisting(topo: SentinelTopology, keys: string[]): Promise<number> {
  const primary = await topo.currentPrimary();
  let kept = 0;
  for (let i = 0; i < keys.length; i += 200) {
    kept += Number(await command({ host: primary.host, port: primary.port }, ['EXISTS', ...keys.slice(i, i + 200)], 2_000));
  }
  return kept;
}

export async function startPartition(kind: PartitionKind, cluster: Cluster, maxLagMs: number): Promise<ActivePartition> {
  const net: NetLab | undefined = cluster.net;
  const topo = cluster.sentinel;
  if (!net || !topo) throw new Error(`${kind} needs the netns platform (sentinel topology in network namespaces)`);
  const s = await sides(kind, topo, cluster.apps.map((a) => a.name));
  const nodes = (names: string[]): NetNode[] => names.map((n) => net.node(n));
  const cut = async (): Promise<void> => {
    if (s.oneWay) await net.drop(net.node(s.oneWay.sender), nodes(s.oneWay.receivers));
    else await net.split(nodes(s.minority), nodes(s.majority));
  };
  const info: PartitionInfo = { minority: s.minority, majority: s.majority, minorityApps: s.minorityApps, maxLagMs, drops: {}, cuts: [] };
  const at = Date.now();
  await cut();
  info.cuts.push({ at, healAt: null });
  info.drops = net.blocked();
  const probe = s.probe
    ? startProbe(s.probe, `${net.prefix}:${at}`, (info.probe = { target: s.probe.name, accepted: 0, lastAcceptedAt: null, refused: 0, kept: null }), () => info.cuts.at(-1)?.healAt === null)
    : undefined;

  let flapping = kind === 'partition-flapping';
  const flapper = flapping
    ? (async () => {
        while (flapping) {
          await sleep(FLAP_CUT_MS);
          if (!flapping) break;
          await net.heal();
          info.cuts[info.cuts.length - 1]!.healAt = Date.now();
          await sleep(FLAP_HEAL_MS);
          if (!flapping) break;
          await cut();
          info.cuts.push({ at: Date.now(), healAt: null });
        }
      })()
    : Promise.resolve();

  const fault: Fault = {
    kind,
    target: `partition ${s.minority.join('+')}`,
    at,
    detail: kind === 'partition-flapping' ? `${s.detail}, cut ${FLAP_CUT_MS} ms / healed ${FLAP_HEAL_MS} ms in turn` : s.detail,
    partition: info,
  };
  let healed = false;
  return {
    fault,
    async heal() {
      if (healed) return;
      healed = true;
      flapping = false;
      await flapper;
      await net.heal();
      const last = info.cuts[info.cuts.length - 1];
      if (last && last.healAt === null) last.healAt = Date.now();
      await probe?.stop();
    },
    async settle() {
      if (probe && info.probe) info.probe.kept = await countExisting(topo, probe.keys);
    },
  };
}
