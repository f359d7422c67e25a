import { StoreError } from '../errors.js';

/**
 * Bounds a store operation end to end. node-redis's per-command timeout starts only once a command
 * is queued on a socket; during a Sentinel failover a command can wait longer than that for a
 * master client to exist. Abandoning the wait is safe because every store write is idempotent:
 * if it still runs later, it leaves the state a retry would.
 */
export function withDeadline<T>(op: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreError(op, 'timeout', `${op}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
