import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** A base directory: the caller's (kept) or a fresh temp dir (removed again on stop). */
export function makeBaseDir(baseDir: string | undefined, prefix: string): { dir: string; owned: boolean } {
  if (baseDir !== undefined) {
    const dir = resolve(baseDir);
    mkdirSync(dir, { recursive: true });
    return { dir, owned: false };
  }
  return { dir: mkdtempSync(join(tmpdir(), prefix)), owned: true };
}

export function nodeDir(base: string, name: string): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
