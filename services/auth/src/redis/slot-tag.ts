import { createRequire } from 'node:module';
import type CalculateSlot from '@redis/client/dist/lib/utils/calculate-slot.js';

// A CommonJS module with a transpiled default export: require() sees it as `.default` under Node
// and under vitest alike (an ESM default import does not: Node gives module.exports, vite the function).
const calculateSlot = (createRequire(import.meta.url)('@redis/client/dist/lib/utils/calculate-slot.js') as { default: typeof CalculateSlot.default }).default;

/**
 * The cluster slot of a key, hash tag rules included (as CLUSTER KEYSLOT computes it). It is
 * node-redis's own routing function (cluster-key-slot, vendored with Redis's empty-tag rule), so
 * the slot we reason about (replica reads, tests, the chaos runner) is always the one the client
 * sends the command to. @redis/client exports no public path to it, hence the dist import; the
 * unit test pins it against slots Redis documents.
 */
export function keySlot(key: string): number {
  return calculateSlot(key);
}
