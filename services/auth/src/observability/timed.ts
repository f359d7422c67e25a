import type { Metrics } from './metrics.js';
import { StoreError } from '../errors.js';
import type { StoreMode } from '../config.js';

/** What a collaborator runs on, as session_store_operation_duration_seconds labels it: a store mode. */
export type StoreBackend = StoreMode;

/**
 * Times one call against `backend` and counts its failure by kind, so every store a request
 * touches (sessions, users, throttle) is measured the same way and no implementation repeats the
 * bookkeeping. An outage shows in session_store_errors_total whichever of them hits it first.
 * `isAnswer` tells errors that are answers (a taken email), not store failures.
 */
export function storeTimer(metrics: Pick<Metrics, 'storeOp' | 'storeErrors'>, backend: StoreBackend, isAnswer: (err: unknown) => boolean = () => false) {
  return async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    const end = metrics.storeOp.startTimer({ op, backend });
    try {
      return await fn();
    } catch (err) {
      if (!isAnswer(err)) metrics.storeErrors.inc({ op, kind: err instanceof StoreError ? err.kind : 'other' });
      throw err;
    } finally {
      end();
    }
  };
}
