import {
  AbortError,
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ErrorReply,
  ReconnectStrategyError,
  RootNodesUnavailableError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis';
import { StoreError, type StoreErrorKind } from '../errors.js';

/** node-redis's own errors for a connection that is not there (closed, offline, lost, never made). */
const UNAVAILABLE_CLASSES = [
  ClientClosedError,
  ClientOfflineError,
  DisconnectsClientError,
  SocketClosedUnexpectedlyError,
  ConnectionTimeoutError,
  ReconnectStrategyError,
  RootNodesUnavailableError,
];

/** Socket errors Node raises before node-redis wraps anything. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Server replies that mean "not the primary now" (a replica, a failover in progress, a loading restart). */
const NOT_WRITABLE_REPLY = /^(READONLY|NOREPLICAS|MASTERDOWN|LOADING)\b/;

/**
 * Cluster replies that mean "this slot is not served right now" (a shard without a primary, a
 * slot mid-migration whose keys are split): the store is unavailable for it, not the request wrong.
 */
const SLOT_UNSERVED_REPLY = /^(CLUSTERDOWN|TRYAGAIN)\b/;

/**
 * The one plain `Error` node-redis throws on our paths where it has no class: a full command queue
 * (commandsQueueMaxLength, a hung server). Matched by message, so a node-redis upgrade that
 * rewords it shows as kind `other` (the redis-connection test would fail first).
 */
const QUEUE_FULL = 'The queue is full';

/**
 * Turns whatever a Redis call threw into a StoreError with a kind the metrics and HTTP layer
 * understand: node-redis's exported classes first; the reply prefixes and messages above only
 * where no class exists.
 */
export function classifyRedisError(op: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new StoreError(op, kindOf(err, msg), `${op}: ${msg}`, err);
}

function kindOf(err: unknown, msg: string): StoreErrorKind {
  if (err instanceof ErrorReply) {
    if (NOT_WRITABLE_REPLY.test(msg)) return 'readonly';
    return SLOT_UNSERVED_REPLY.test(msg) ? 'unavailable' : 'other';
  }
  if (err instanceof TimeoutError || err instanceof SocketTimeoutError || err instanceof AbortError) return 'timeout';
  // AbortSignal.timeout (a per-command timeout, where one is set) rejects with a DOMException.
  if (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timeout';
  if (UNAVAILABLE_CLASSES.some((c) => err instanceof c)) return 'unavailable';
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && UNAVAILABLE_CODES.has(code)) return 'unavailable';
    if (msg === QUEUE_FULL) return 'unavailable';
  }
  return 'other';
}
