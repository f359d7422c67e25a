// Locates the k6 binary (Node side: used by run-load.ts and test/k6): $K6_BIN, PATH, then
// $(go env GOPATH)/bin/k6 (where `go install go.k6.io/k6@latest` puts it).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function findK6(): string | undefined {
  const candidates: string[] = [];
  if (process.env.K6_BIN) candidates.push(process.env.K6_BIN);
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) candidates.push(join(dir, 'k6'));
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (gopath) candidates.push(join(gopath.split(':')[0]!, 'bin', 'k6'));
  } catch {
    // no go toolchain
  }
  candidates.push(join(homedir(), 'go', 'bin', 'k6'));
  return candidates.find((c) => existsSync(c));
}

export function requireK6(): string {
  const k6 = findK6();
  if (!k6) {
    throw new Error(
      'k6 not found (looked at $K6_BIN, PATH and $(go env GOPATH)/bin/k6). Install it with scripts/install-k6.sh ' +
        '(or `go install go.k6.io/k6@v1.8.1`), or set K6_BIN.',
    );
  }
  return k6;
}
