import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { agreedReplicaRead } from '../../src/redis/replica-read.js';

describe('agreedReplicaRead (failover-time reads, Sentinel and Cluster)', () => {
  const v = (x: string | null) => Promise.resolve(x);
  it('a key every replica holds is the answer; a key one replica lacks is absent (its revocation wins)', async () => {
    expect(await agreedReplicaRead('get', [v('rec'), v('rec')])).toBe('rec');
    expect(await agreedReplicaRead('get', [v('rec'), v(null)])).toBeNull();
    expect(await agreedReplicaRead('get', [v(null), v('rec')])).toBeNull();
  });
  it('a replica that does not answer fails the read rather than being left out', async () => {
    await expect(agreedReplicaRead('get', [v('rec'), Promise.reject(new Error('timeout'))])).rejects.toThrow('timeout');
  });
  it('no replica known: unavailable', async () => {
    await expect(agreedReplicaRead('replica_get', [])).rejects.toBeInstanceOf(StoreError);
    await expect(agreedReplicaRead('replica_get', [])).rejects.toMatchObject({ kind: 'unavailable', op: 'replica_get' });
  });
});
