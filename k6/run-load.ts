// `npm run load`: runs k6/steady.ts with real k6 against BASE_URL (default: the local cluster's
// ingress, http://127.0.0.1:8080) and prints the JSON summary. Extra arguments go to `k6 run`
// (e.g. `npm run load -- -e RATE=100 -e DURATION=2m`). Exit code: k6's (99 = thresholds missed).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireK6 } from './find-k6.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const baseUrl = process.env.BASE_URL ?? 'http://127.0.0.1:8080';
const k6 = requireK6();
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
