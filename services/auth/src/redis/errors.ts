import { StoreError, type StoreErrorKind } from '../errors.js';

/**
 * Turns whatever node-redis threw into a StoreError with a kind the metrics and HTTP layer
 * understand. Classification is by error name and reply prefix because node-redis wraps socket
 * errors differently depending on where in the connection lifecycle they happen.
 */
export function classifyRedisError(op: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as { name?: string; message?: string; code?: string } | undefined;
  const name = e?.name ?? '';
  const msg = e?.message ?? String(err);
  let kind: StoreErrorKind = 'other';
  if (name === 'TimeoutError' || name === 'AbortError' || /timeout/i.test(name)) kind = 'timeout';
  else if (/^(READONLY|NOREPLICAS|MASTERDOWN|LOADING)/.test(msg)) kind = 'readonly';
  else if (
    /ClientOffline|ClientClosed|SocketClosedUnexpectedly|ConnectionTimeout|ReconnectStrategy|RootNodesUnavailable|Disconnects/.test(
      name,
    ) ||
    // node-redis's own errors mostly keep the name "Error": their messages tell them apart.
    /offline|closed|Disconnects client|ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EHOSTUNREACH|queue is full|No .*(master|node)/i.test(msg) ||
    e?.code === 'ECONNREFUSED'
  ) {
    kind = 'unavailable';
  }
  return new StoreError(op, kind, `${op}: ${msg}`, err);
}
