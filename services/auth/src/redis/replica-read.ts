import { StoreError } from '../errors.js';

/**
 * The failover-time read of one key from every replica asked, answered conservatively: every one
 * must answer, and a key any of them lacks counts as absent. WAIT 1 puts an acknowledged revocation
 * on at least one replica, not on all, so a read from one replica, or from only the replicas that
 * happen to answer, could bring a revoked session back for the seconds of a failover. Used by the
 * Sentinel and the Cluster connections alike.
 */
export async function agreedReplicaRead(op: string, reads: readonly Promise<string | null>[]): Promise<string | null> {
  if (reads.length === 0) throw new StoreError(op, 'unavailable', `${op}: no replica known`);
  const values = await Promise.all(reads);
  return values.some((v) => v === null) ? null : values[0]!;
}
