/**
 * Network namespaces for real (root, iproute2): a Redis node in its own namespace, reachable from
 * here; a one-way drop that silently stalls one direction only; heal; and teardown that leaves
 * nothing behind, both by destroy() and when the owning process is interrupted (SIGINT).
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetLab, leftovers, netnsAvailable, pidAlive, startSentinelTopology, type NetLab } from '../src/index.js';
import { command } from '../src/resp.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Connects from inside `ns` to host:port and sends PING: 'PONG', 'timeout' or an error code. */
function pingFrom(lab: NetLab, ns: string, host: string, port: number): string {
  const script = `const s=require('net').connect(${port},'${host}');s.setTimeout(700);s.on('connect',()=>s.write('PING\\r\\n'));s.on('data',d=>{console.log(String(d).trim().replace('+',''));s.destroy()});s.on('timeout',()=>{console.log('timeout');s.destroy()});s.on('error',e=>console.log(e.code))`;
  return execFileSync(lab.execPrefix(lab.node(ns))[0]!, [...lab.execPrefix(lab.node(ns)).slice(1), process.execPath, '-e', script], { encoding: 'utf8' }).trim();
}

describe.sequential('network namespaces', () => {
  it('runs on this machine (root with iproute2)', () => {
    expect(netnsAvailable()).toEqual({ ok: true });
  });

  it('places each process in its own namespace, cuts one direction silently, heals, and leaves nothing behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netns-test-'));
    dirs.push(dir);
    const lab = await createNetLab({ recordFile: join(dir, 'netns.json') });
    let topo: Awaited<ReturnType<typeof startSentinelTopology>> | undefined;
    try {
      topo = await startSentinelTopology({
        baseDir: dir,
        replicas: 1,
        sentinels: 1,
        quorum: 1,
        placement: (name) => lab.place(name),
      });
      await lab.addNode('client');
      const primary = topo.redisNodes[0]!;
      expect(primary.host).toBe(lab.node('redis-primary').ip);
      expect(primary.host).toMatch(/^10\.77\.\d+\.\d+$/);
      // Its own network stack: no loopback listener of ours, the lab address only.
      expect(await command({ host: primary.host, port: primary.port }, ['PING'])).toBe('PONG');
      expect(pingFrom(lab, 'client', primary.host, primary.port)).toBe('PONG');

      await lab.drop(lab.node('client'), [lab.node('redis-primary')]);
      expect(lab.blocked()).toEqual({ client: ['redis-primary'] });
      // Silent: no RST, no ICMP; the connection attempt just times out.
      expect(pingFrom(lab, 'client', primary.host, primary.port)).toBe('timeout');
      // Only that sender: the harness and the replica still reach the primary.
      expect(await command({ host: primary.host, port: primary.port }, ['PING'])).toBe('PONG');
      expect(pingFrom(lab, 'replica-1', primary.host, primary.port)).toBe('PONG');

      await lab.heal();
      expect(lab.blocked()).toEqual({});
      expect(pingFrom(lab, 'client', primary.host, primary.port)).toBe('PONG');
    } finally {
      await topo?.stop();
      await lab.destroy();
    }
    expect(leftovers(lab.prefix)).toEqual({ namespaces: [], links: [] });
  });

  it('tears everything down when the owner is interrupted (SIGINT), processes by pid included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netns-sigint-'));
    dirs.push(dir);
    const script = fileURLToPath(new URL('./fixtures/netns-owner.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
    const child = spawn(tsx, [script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const ready = await new Promise<{ prefix: string; pid: number }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += String(d);
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line) as { prefix: string; pid: number });
      });
      child.once('exit', (code) => reject(new Error(`owner exited early (${code})`)));
    });
    expect(leftovers(ready.prefix).namespaces.length).toBeGreaterThan(0);
    expect(pidAlive(ready.pid)).toBe(true);
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)));
    child.kill('SIGINT');
    // Died of the signal (tsx relays it to the script and reports it as exit code 130).
    expect(['SIGINT', 'code 130']).toContain(await exited);
    expect(leftovers(ready.prefix)).toEqual({ namespaces: [], links: [] });
    // Killed by pid; its exit is reaped by init once the owner is gone, which can take a moment.
    const deadline = Date.now() + 5_000;
    while (pidAlive(ready.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(pidAlive(ready.pid)).toBe(false);
  });
});
