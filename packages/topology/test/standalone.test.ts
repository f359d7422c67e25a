import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { command, freePort, livePids, pidAlive, requireBinary, startStandalone, type Standalone } from '../src/index.js';
import { renderRedisConfig } from '../src/config.js';
import { ManagedProcess } from '../src/process.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // Last registered first: stop a server before removing its dir.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function standalone(opts: Parameters<typeof startStandalone>[0] = {}): Promise<Standalone> {
  const s = await startStandalone(opts);
  cleanups.push(() => s.stop());
  return s;
}

async function waitGone(pid: number, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !pidAlive(pid);
}

describe('freePort', () => {
  it('returns distinct bindable loopback ports', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
    for (const p of ports) expect(p).toBeGreaterThan(0);
  });
});

describe('startStandalone', () => {
  it('starts, answers PING, and stop() leaves no process and no temp dir', async () => {
    const s = await startStandalone();
    const pid = s.redis.pid();
    expect(pid).toBeTypeOf('number');
    expect(s.url).toBe(`redis://127.0.0.1:${s.redis.port}`);
    expect(await command(s.redis, ['PING'])).toBe('PONG');
    expect(existsSync(s.redis.logFile)).toBe(true);
    await s.stop();
    expect(s.redis.running()).toBe(false);
    expect(s.redis.pid()).toBeUndefined();
    expect(pidAlive(pid as number)).toBe(false);
    expect(existsSync(s.redis.dir)).toBe(false);
    await s.stop(); // idempotent
    expect(livePids()).not.toContain(pid);
  });

  it('requires the password when one is set and puts it in the url', async () => {
    const s = await standalone({ password: 'p@ss word' });
    expect(s.url).toBe(`redis://:p%40ss%20word@127.0.0.1:${s.redis.port}`);
    await expect(command({ host: s.redis.host, port: s.redis.port }, ['GET', 'x'])).rejects.toThrow(/NOAUTH/);
    expect(await command({ host: s.redis.host, port: s.redis.port, password: 'p@ss word' }, ['PING'])).toBe('PONG');
  });

  it('kill -9 then start() keeps AOF data; start({emptyData}) loses it, same port', async () => {
    const s = await standalone({ appendonly: true });
    const { port } = s.redis;
    await command(s.redis, ['SET', 'k', 'v']);
    const pid = s.redis.pid() as number;
    await s.redis.kill();
    expect(pidAlive(pid)).toBe(false);
    expect(s.redis.running()).toBe(false);

    await s.redis.start();
    expect(s.redis.port).toBe(port);
    expect(await command(s.redis, ['GET', 'k'])).toBe('v');

    await s.redis.kill();
    await s.redis.start({ emptyData: true });
    expect(s.redis.port).toBe(port);
    expect(await command(s.redis, ['GET', 'k'])).toBeNull();
    expect(await command(s.redis, ['DBSIZE'])).toBe(0);
  });

  it('pause() freezes the server and resume() thaws it', async () => {
    const s = await standalone();
    await s.redis.pause();
    await expect(command(s.redis, ['PING'], 300)).rejects.toThrow(/timeout/);
    expect(s.redis.running()).toBe(true);
    await s.redis.resume();
    expect(await command(s.redis, ['PING'])).toBe('PONG');
    // stop() must also end a frozen process (SIGTERM alone would wait for SIGCONT).
    await s.redis.pause();
    await s.stop();
    expect(s.redis.running()).toBe(false);
  });

  it('reports a startup failure with the tail of the log', async () => {
    await expect(startStandalone({ extraConfig: ['no-such-directive yes'] })).rejects.toThrow(
      /exited with code 1 during startup[\s\S]*no-such-directive/,
    );
    expect(livePids()).toEqual([]);
  });

  it('picks another port when the first one is taken before the first start', async () => {
    // Stands in for another test file's server; it drops every connection it accepts.
    const blocker: Server = createServer((socket) => socket.destroy());
    const taken = await freePort();
    await new Promise<void>((r) => blocker.listen(taken, '127.0.0.1', r));
    const dir = mkdtempSync(join(tmpdir(), 'topology-collide-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const p = new ManagedProcess({
      name: 'collider',
      kind: 'redis',
      binary: requireBinary('redis-server'),
      dir,
      port: taken,
      configFileName: 'redis.conf',
      renderConfig: (port, logFile) =>
        renderRedisConfig({ host: '127.0.0.1', port, dir, logFile, appendonly: false, minReplicasToWrite: 0, minReplicasMaxLagSeconds: 10 }),
    });
    cleanups.push(() => p.stop(), () => new Promise<void>((r) => blocker.close(() => r())));
    await p.start();
    expect(p.port).not.toBe(taken);
    expect(await command(p, ['PING'])).toBe('PONG');
  });
});

describe('process-wide reaper', () => {
  const fixture = fileURLToPath(new URL('./fixtures/orphan.ts', import.meta.url));

  // The fixture starts a server and then dies without calling stop().
  it.each(['exit', 'throw', 'sigterm', 'sigkill'])('kills the server when the owner process ends by %s', async (mode) => {
    const baseDir = mkdtempSync(join(tmpdir(), 'topology-orphan-'));
    cleanups.push(async () => rmSync(baseDir, { recursive: true, force: true }));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode, baseDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /pid=(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`fixture exited (${code}) before reporting a pid: ${stderr}`)));
    });
    expect(pidAlive(pid)).toBe(true);
    if (mode === 'sigterm') child.kill('SIGTERM');
    if (mode === 'sigkill') child.kill('SIGKILL');
    expect(await waitGone(pid)).toBe(true);
  });
});
