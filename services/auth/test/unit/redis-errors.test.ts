import { describe, expect, it } from 'vitest';
import {
  AbortError,
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ErrorReply,
  ReconnectStrategyError,
  RootNodesUnavailableError,
  SimpleError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
  WatchError,
} from 'redis';
import { StoreError } from '../../src/errors.js';
import { classifyRedisError } from '../../src/redis/errors.js';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

/** node-redis's own error classes, as it exports them, and what each means for a store call. */
describe('classifyRedisError', () => {
  it.each([
    ['ClientClosedError', new ClientClosedError(), 'unavailable'],
    ['ClientOfflineError', new ClientOfflineError(), 'unavailable'],
    ['DisconnectsClientError', new DisconnectsClientError(), 'unavailable'],
    ['SocketClosedUnexpectedlyError', new SocketClosedUnexpectedlyError(), 'unavailable'],
    ['ConnectionTimeoutError', new ConnectionTimeoutError(), 'unavailable'],
    ['ReconnectStrategyError', new ReconnectStrategyError(refused, refused), 'unavailable'],
    ['RootNodesUnavailableError', new RootNodesUnavailableError(), 'unavailable'],
    ['a socket error (ECONNREFUSED)', refused, 'unavailable'],
    ['a full command queue', new Error('The queue is full'), 'unavailable'],
    ['TimeoutError (a pool acquire)', new TimeoutError('Timeout waiting for a client after 500ms'), 'timeout'],
    ['SocketTimeoutError', new SocketTimeoutError(500), 'timeout'],
    ['AbortError', new AbortError(), 'timeout'],
    ['AbortSignal.timeout', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'timeout'],
    ['a READONLY reply', new SimpleError("READONLY You can't write against a read only replica."), 'readonly'],
    ['a LOADING reply', new ErrorReply('LOADING Redis is loading the dataset in memory'), 'readonly'],
    ['a NOREPLICAS reply', new ErrorReply('NOREPLICAS Not enough good replicas to write.'), 'readonly'],
    ['a MASTERDOWN reply', new ErrorReply('MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no'), 'readonly'],
    ['a CLUSTERDOWN reply (a shard without a primary)', new ErrorReply('CLUSTERDOWN The cluster is down'), 'unavailable'],
    ['a TRYAGAIN reply (a slot caught mid-migration)', new ErrorReply('TRYAGAIN Multiple keys request during rehashing of slot'), 'unavailable'],
    ['a MOVED reply left over after the retries', new ErrorReply('MOVED 3999 127.0.0.1:6381'), 'other'],
    ['another reply', new ErrorReply('ERR unknown command'), 'other'],
    ['a reply that only mentions a closed socket', new ErrorReply('ERR the client is closed, offline'), 'other'],
    ['WatchError', new WatchError(), 'other'],
    ['a plain error', new Error('something else'), 'other'],
    ['a string', 'oops', 'other'],
  ])('%s', (_what, err, kind) => {
    const e = classifyRedisError('get', err);
    expect(e).toBeInstanceOf(StoreError);
    expect(e.kind).toBe(kind);
    expect(e.op).toBe('get');
  });

  it('keeps a StoreError as it is', () => {
    const e = new StoreError('create', 'no_replica_ack', 'create: 0 of 1 replicas confirmed');
    expect(classifyRedisError('get', e)).toBe(e);
  });
});
