// Finds a tool that scripts/go-tool.sh installs with `go install` (helm, k6, actionlint): an
// explicit $ENV_VAR first, then PATH, then $(go env GOPATH)/bin and ~/go/bin, where go install
// puts it without touching PATH.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export function findGoTool(name: string, envVar: string): string | undefined {
  const candidates: string[] = [];
  const fromEnv = process.env[envVar];
  if (fromEnv) candidates.push(fromEnv);
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) candidates.push(join(dir, name));
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    for (const gp of gopath.split(delimiter).filter(Boolean)) candidates.push(join(gp, 'bin', name));
  } catch {
    // no go toolchain: the default GOPATH below may still hold an earlier install
  }
  candidates.push(join(homedir(), 'go', 'bin', name));
  return candidates.find((c) => existsSync(c));
}

/** The tool's path, or an error that says how to install it. */
export function requireGoTool(name: string, envVar: string, install: string): string {
  const found = findGoTool(name, envVar);
  if (!found) {
    throw new Error(`${name} not found (looked at $${envVar}, PATH and $(go env GOPATH)/bin). Install it with ${install}, or set ${envVar}.`);
  }
  return found;
}
