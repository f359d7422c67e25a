import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MissingBinaryError, requireBinary, startStandalone } from '../src/index.js';

describe('requireBinary', () => {
  it('resolves both binaries from PATH to absolute paths', () => {
    expect(requireBinary('redis-server')).toMatch(/^\/.*redis-server$/);
    expect(requireBinary('redis-sentinel')).toMatch(/^\/.*redis-sentinel$/);
  });

  it.each(['redis-server', 'redis-sentinel'] as const)('throws MissingBinaryError naming apt-get for %s', (name) => {
    const emptyDir = mkdtempSync(join(tmpdir(), 'topology-nopath-'));
    let caught: unknown;
    try {
      requireBinary(name, `${emptyDir}:/nonexistent`);
    } catch (err) {
      caught = err;
    } finally {
      rmSync(emptyDir, { recursive: true, force: true });
    }
    expect(caught).toBeInstanceOf(MissingBinaryError);
    const err = caught as MissingBinaryError;
    expect(err.code).toBe('MISSING_BINARY');
    expect(err.message).toContain(`apt-get install ${name}`);
  });

  it('makes startStandalone fail fast when PATH lacks redis-server', async () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startStandalone()).rejects.toMatchObject({ code: 'MISSING_BINARY' });
    } finally {
      process.env.PATH = saved;
    }
  });
});
