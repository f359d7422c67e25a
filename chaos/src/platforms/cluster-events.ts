/**
 * A Redis Cluster has no event channel like Sentinel's: this polls CLUSTER NODES of every node
 * `nodes()` names (the running ones locally; every node of the cluster on Kubernetes) and turns
 * what changes into timeline events under Sentinel's names, so the figures and reports read the
 * same for both (docs: chaos/README.md):
 *   +sdown         a node first flags a primary `fail?` (PFAIL: it stopped answering that node)
 *   +odown         a node flags it `fail` (FAIL: a majority of primaries agreed)
 *   +switch-master a node seen as its replica reports itself master with slots (promoted: after
 *                  a failure, or by a CLUSTER FAILOVER handover, which flags nothing first)
 */
import { command, parseClusterNodes, type Endpoint } from '@session-auth/topology';
import type { TimelineEvent } from '../figures.js';
import type { EventRecorder } from './platform.js';

/** `intervalMs`: between rounds (25 ms on loopback; every round opens one connection per node). */
export function watchCluster(nodes: () => readonly Endpoint[], intervalMs = 25): EventRecorder {
  const events: TimelineEvent[] = [];
  const seen = new Set<string>();
  let stopped = false;
  const emit = (channel: string, key: string, message: string) => {
    if (seen.has(`${channel} ${key}`)) return;
    seen.add(`${channel} ${key}`);
    events.push({ at: Date.now(), source: 'cluster', channel, message });
  };
  const forget = (id: string) => {
    for (const k of [`+sdown ${id}`, `+odown ${id}`, `+switch-master shard-of-${id}`]) seen.delete(k);
  };
  const formerMaster = new Map<string, string>();
  const loop = (async () => {
    while (!stopped) {
      await Promise.all(
        nodes().map(async (n) => {
          // One node's view is enough for the timeline; asking all of them finds each change first.
          try {
            for (const l of parseClusterNodes(String(await command(n, ['CLUSTER', 'NODES'], 500)))) {
              const where = `${l.host} ${l.port}`;
              if (l.flags.includes('master') && l.flags.includes('fail?')) emit('+sdown', l.id, `master ${l.id} ${where}`);
              if (l.flags.includes('master') && l.flags.includes('fail')) emit('+odown', l.id, `master ${l.id} ${where}`);
              // From its own line only: another node's view of a role can lag behind a promotion.
              if (l.flags.includes('myself') && l.flags.includes('slave')) formerMaster.set(l.id, l.masterId);
              const old = formerMaster.get(l.id);
              if (l.flags.includes('myself') && l.flags.includes('master') && l.slots.length > 0 && old) {
                emit('+switch-master', `shard-of-${old}`, `shard of ${old} promoted ${where}`);
                // Promoted once: only its becoming a replica again (and then a primary) is another switch.
                formerMaster.delete(l.id);
              }
              // A node answering for itself again (as primary or, usually, as replica) may fail in a later trial.
              if (l.flags.includes('myself') && !l.flags.some((x) => x.startsWith('fail'))) forget(l.id);
            }
          } catch {
            // a node down or busy: the others answer
          }
        }),
      );
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    all: () => [...events],
    async close() {
      stopped = true;
      await loop;
    },
  };
}
