import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The real-cluster e2e (`npm run test:kube`): test/kube/*.e2e.ts against deploy/localkube. Not in
// `npm test`'s include (*.test.ts): it needs root, a cluster and images built first.
export default defineConfig({
  resolve: {
    alias: { '@session-auth/topology': fileURLToPath(new URL('./packages/topology/src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/kube/**/*.e2e.ts'],
    globalSetup: ['test/kube/support/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 900_000,
    pool: 'forks',
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
