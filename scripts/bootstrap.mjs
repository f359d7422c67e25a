#!/usr/bin/env node
// Makes a fresh clone runnable: installs npm dependencies when node_modules is missing or older
// than the lockfile, and (with --redis) makes sure redis-server and redis-sentinel exist,
// installing them with apt-get when running as root, or saying exactly what to run otherwise.
// Only Node built-ins here: this runs before any dependency is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const say = (m) => quiet || console.error(`[bootstrap] ${m}`);

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`[bootstrap] "${cmd} ${argv.join(' ')}" failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  say('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function has(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

if (args.has('--redis')) {
  const missing = ['redis-server', 'redis-sentinel'].filter((b) => !has(b));
  const extra = args.has('--prometheus') && !has('promtool') ? ['prometheus'] : [];
  const pkgs = [...missing, ...extra];
  if (pkgs.length) {
    const isRoot = process.getuid?.() === 0;
    if (!isRoot || !has('apt-get')) {
      console.error(`[bootstrap] missing ${pkgs.join(', ')}: install with  sudo apt-get install -y ${pkgs.join(' ')}`);
      process.exit(1);
    }
    say(`installing ${pkgs.join(', ')} with apt-get`);
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', ...pkgs], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
}
