// `npm run load`: runs k6/steady.ts with real k6 against BASE_URL (default: the ingress of the
// local cluster `npm run up` is running, read from .run/current.json) and prints the JSON summary. Extra arguments go to `k6 run`
// (e.g. `npm run load -- -e RATE=100 -e DURATION=2m`). Exit code: k6's (99 = thresholds missed).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findK6, K6_INSTALL_HINT } from './find-k6.js';

const here = fileURLToPath(new URL('.', import.meta.url));
/** The running local cluster's ingress, so `npm run up` then `npm run load` needs no flags. */
function localClusterUrl(): string | undefined {
  const state = join(here, '..', '.run', 'current.json');
  if (!existsSync(state)) return undefined;
  try {
    return (JSON.parse(readFileSync(state, 'utf8')) as { url?: string }).url;
  } catch {
    return undefined;
  }
}
// k6 first: without it nothing below can run, and its absence is the likeliest first failure.
const k6 = findK6();
if (!k6) {
  console.error(`[load] ${K6_INSTALL_HINT}`);
  process.exit(127);
}
const baseUrl = process.env.BASE_URL ?? localClusterUrl();
if (!baseUrl) {
  console.error('[load] no BASE_URL and no running local cluster: start one with `npm run up` or set BASE_URL');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'session-auth-load-'));
const summaryPath = join(dir, 'summary.json');
const script = join(here, process.env.K6_SCENARIO ?? 'steady.ts');

console.error(`[load] ${k6} run ${script} against ${baseUrl}`);
const child = spawn(k6, ['run', '--quiet', '-e', `BASE_URL=${baseUrl}`, '-e', `K6_SUMMARY=${summaryPath}`, ...process.argv.slice(2), script], {
  stdio: 'inherit',
  // Loopback only: no anonymous usage report to k6's servers unless the caller opts in.
  env: { K6_NO_USAGE_REPORT: 'true', ...process.env },
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => child.kill(sig));
child.once('exit', (code, signal) => {
  try {
    console.log(readFileSync(summaryPath, 'utf8'));
  } catch {
    console.error('[load] k6 wrote no summary (did setup fail? is BASE_URL reachable?)');
  }
  rmSync(dir, { recursive: true, force: true });
  process.exit(code ?? (signal ? 1 : 0));
});
