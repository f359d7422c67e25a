export { MissingBinaryError, requireBinary, type RedisBinary } from './binaries.js';
export { freePort, LOOPBACK } from './ports.js';
export { livePids, pidAlive, type ProcessKind, type RedisProcess, type StartOptions } from './process.js';
export { startStandalone, type Standalone, type StandaloneOptions } from './standalone.js';
export { startSentinelTopology, type SentinelTopology, type SentinelTopologyOptions } from './sentinel.js';
export { type SentinelEvent, type SentinelEventStream } from './events.js';
export { command, exchange, RespError, type Endpoint, type RespValue } from './resp.js';
