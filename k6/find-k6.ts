// Locates the k6 binary for `npm run load`. k6 is the user's own install (Grafana's packages, or
// grafana/setup-k6-action in a workflow); this project never fetches or builds it.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const K6_INSTALL_HINT =
  'k6 is not installed: install it from Grafana (https://grafana.com/docs/k6/latest/set-up/install-k6/), or set K6_BIN to its path';

export function findK6(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.K6_BIN) return existsSync(env.K6_BIN) ? env.K6_BIN : undefined;
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'k6'))
    .find((p) => existsSync(p));
}
