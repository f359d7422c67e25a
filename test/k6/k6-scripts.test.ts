// The k6 scenarios parse (k6 inspect) and steady.ts really runs against the service: thresholds
// pass against a healthy in-test service and fail (exit 99) when a bound cannot be met.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findK6 } from '../../k6/find-k6.js';
import { startApp, type TestApp } from '../../services/auth/test/support/app.js';

const K6_DIR = fileURLToPath(new URL('../../k6/', import.meta.url));
const SCRIPTS = ['steady.ts', 'spike.ts', 'soak.ts', 'chaos.ts'];

function k6Binary(): string {
  const k6 = findK6();
  if (!k6) {
    throw new Error(
      'k6 not found on PATH, at $K6_BIN or at $(go env GOPATH)/bin/k6: install it with scripts/install-k6.sh',
    );
  }
  return k6;
}

/** Async on purpose: the service under test runs in this process and must keep answering. */
function k6(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(k6Binary(), args, {
      cwd: K6_DIR,
      env: { ...process.env, K6_NO_USAGE_REPORT: 'true', K6_NO_COLOR: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`k6 ${args.join(' ')} did not finish within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('k6 scenarios', () => {
  let app: TestApp;
  let dir: string;

  beforeAll(async () => {
    k6Binary();
    dir = mkdtempSync(join(tmpdir(), 'k6-test-'));
    app = await startApp({ SESSION_STORE: 'memory', LOG_LEVEL: 'warn', LOGIN_MAX_ATTEMPTS_PER_IP: '1000000' });
  });
  afterAll(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(SCRIPTS)('k6 inspect %s', async (script) => {
    const { code, out } = await k6(['inspect', script]);
    expect(code, out).toBe(0);
    expect(JSON.parse(out.slice(out.indexOf('{')))).toHaveProperty('scenarios');
  });

  const run = (summary: string, extra: string[] = []) =>
    k6([
      'run', '--quiet',
      '-e', `BASE_URL=${app.url}`, '-e', 'RATE=20', '-e', 'DURATION=3s', '-e', 'USERS=5', '-e', 'VUS=5',
      '-e', `K6_SUMMARY=${summary}`, ...extra, 'steady.ts',
    ]);

  it('steady.ts runs against the real service and passes its thresholds', async () => {
    const path = join(dir, 'pass.json');
    const { code, out } = await run(path);
    expect(code, out).toBe(0);
    const s = JSON.parse(readFileSync(path, 'utf8')) as { passed: boolean; requests: number; failedRate: number };
    expect(s.passed).toBe(true);
    expect(s.requests).toBeGreaterThan(40);
    expect(s.failedRate).toBe(0);
  }, 60_000);

  it('steady.ts exits 99 when a threshold is missed', async () => {
    const path = join(dir, 'fail.json');
    const { code, out } = await run(path, ['-e', 'ME_P99_MS=0.001']);
    expect(code, out).toBe(99);
    expect((JSON.parse(readFileSync(path, 'utf8')) as { passed: boolean }).passed).toBe(false);
  }, 60_000);
});
