#!/usr/bin/env node
// Makes a fresh clone runnable, so that each README command installs what it needs itself:
// - npm dependencies (`npm ci`) when node_modules is missing or older than the lockfile;
// - Debian packages named by flags (--redis: redis-server + redis-sentinel, --netns: iproute2, --prometheus, --chromium,
//   --localkube: what deploy/localkube runs and builds with), with
//   apt-get when running as root, else one line saying exactly what to run;
// - Go-built tools named by flags (--helm, --actionlint): `go install` of a pinned version
//   through scripts/install-*.sh (idempotent, quiet when already there).
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
  if (bin.startsWith('/')) return existsSync(bin);
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

// flag -> [binary that proves it is installed, Debian package]
const DEBIAN = {
  '--redis': [['redis-server', 'redis-server'], ['redis-sentinel', 'redis-sentinel']],
  '--prometheus': [['promtool', 'prometheus']],
  // The netns chaos platform and its tests: `ip netns`, veth, bridge.
  '--netns': [['ip', 'iproute2']],
  // The browser tests (test/browser): Debian's Chromium, driven by playwright-core, which is
  // never allowed to download a browser of its own.
  '--chromium': [['/usr/bin/chromium', 'chromium']],
  // deploy/localkube: the real single-node cluster (`npm run test:kube`, `npm run kube:up`).
  '--localkube': [
    ['containerd', 'containerd'],
    ['runc', 'runc'],
    ['dockerd', 'docker.io'],
    ['/usr/lib/cni/bridge', 'containernetworking-plugins'],
    ['iptables', 'iptables'],
    ['conntrack', 'conntrack'],
    ['openssl', 'openssl'],
    ['curl', 'curl'],
    ['mmdebstrap', 'mmdebstrap'],
  ],
};
const pkgs = Object.entries(DEBIAN)
  .filter(([flag]) => args.has(flag))
  .flatMap(([, needs]) => needs.filter(([bin]) => !has(bin)).map(([, pkg]) => pkg));
if (pkgs.length) {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !has('apt-get')) {
    console.error(`[bootstrap] missing ${pkgs.join(', ')}: install with  sudo apt-get install -y ${pkgs.join(' ')}`);
    process.exit(1);
  }
  say(`installing ${pkgs.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Wait for the dpkg lock instead of failing: another apt run (a second bootstrap, the machine's
  // own updates) may hold it for a minute.
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  run('apt-get', [...lock, 'update', '-qq'], { env });
  run('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env });
}

// Go-built tools: scripts/install-NAME.sh pins the version and is a no-op when the tool exists.
for (const tool of ['helm', 'actionlint']) {
  if (!args.has(`--${tool}`)) continue;
  if (!has('go') && !has(tool)) {
    console.error(`[bootstrap] missing ${tool}, and go is not installed to build it: install Go (https://go.dev/doc/install), or put ${tool} on PATH`);
    process.exit(1);
  }
  run('bash', [join(root, 'scripts', `install-${tool}.sh`)], { stdio: ['ignore', 'ignore', 'inherit'] });
}

// --schemathesis: a pinned Schemathesis in its own venv (PyPI through pip, the ordinary client),
// so the OpenAPI fuzz test in `npm test` never depends on what the machine's Python has. The venv
// lives under node_modules/.cache: removed with node_modules, never committed, reused while the
// pinned version answers `--version`.
const SCHEMATHESIS_VERSION = '4.32.5';
if (args.has('--schemathesis')) {
  const venv = join(root, 'node_modules', '.cache', 'schemathesis-venv');
  const st = join(venv, 'bin', 'st');
  const current = existsSync(st) && spawnSync(st, ['--version'], { encoding: 'utf8' }).stdout?.includes(SCHEMATHESIS_VERSION);
  if (!current) {
    const python = ['python3', 'python'].find(has);
    if (!python) {
      console.error('[bootstrap] --schemathesis needs python3 (with venv) to install Schemathesis');
      process.exit(1);
    }
    say(`installing schemathesis ${SCHEMATHESIS_VERSION} into ${venv}`);
    run(python, ['-m', 'venv', '--clear', venv]);
    run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`]);
  }
}
