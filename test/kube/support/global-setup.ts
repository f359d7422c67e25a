// Brings the real cluster up (idempotent: a running healthy one is reused) and builds/loads the
// images before the e2e files, and takes it down after unless LOCALKUBE_KEEP=1.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './kube.js';

function step(script: string, args: string[] = []): void {
  const t0 = Date.now();
  const r = spawnSync('bash', [join(repoRoot, 'deploy/localkube', script), ...args], { stdio: 'inherit', cwd: repoRoot });
  if (r.status !== 0) throw new Error(`deploy/localkube/${script} failed (exit ${r.status})`);
  console.error(`[kube e2e] ${script} ${args.join(' ')}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

export function setup(): void {
  // The custom test values install the chart with clusterDomain k8s.example.internal.
  process.env.LOCALKUBE_DNS_EXTRA_ZONES ??= 'k8s.example.internal';
  step('up.sh');
  step('images.sh');
  // A tool install, not a test: built here (about 4 min cold, a no-op once built) so that a busy
  // machine's compile time never counts against skaffold.e2e.ts's timeout (it once did: killed
  // after 15 min of a cold build under load).
  step('build-skaffold.sh');
}

export function teardown(): void {
  if (process.env.LOCALKUBE_KEEP === '1') return;
  step('down.sh');
}
