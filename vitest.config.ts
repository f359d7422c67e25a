import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests use workspace sources directly, so `npm test` needs no build step first.
    alias: { '@session-auth/topology': fileURLToPath(new URL('./packages/topology/src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // Real redis-server processes start per file; give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One file at a time: the suites start real Redis/Sentinel/Prometheus/app processes and assert
    // failover timings; two such files on 2 cores starve each other (a WAIT overran its 250 ms
    // bound with no fault injected). Sequential files keep the assertions about the system.
    fileParallelism: false,
  },
});
