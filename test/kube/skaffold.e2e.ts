// skaffold.yaml for real: `skaffold run -p localkube` builds both images from our Dockerfile
// (deploy/localkube/skaffold-build.sh: the private dockerd, then the cluster's containerd), deploys
// the chart with the profile's values through helm, and `skaffold delete` removes the release.
import { spawn } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterEnv, helmBin, kubectl, localkubeHome, must, pods, repoRoot, serviceUrl } from './support/kube.js';
import { AuthClient } from './support/client.js';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('skaffold run -p localkube', () => {
  const bin = join(localkubeHome, 'bin');
  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    ...clusterEnv(),
    // skaffold calls helm and kubectl by name, and reads the image id from localkube's dockerd.
    PATH: [bin, dirname(helmBin()), process.env.PATH ?? ''].join(delimiter),
    DOCKER_HOST: `unix://${join(localkubeHome, 'docker-run', 'docker.sock')}`,
    SKAFFOLD_UPDATE_CHECK: 'false',
    SKAFFOLD_INTERACTIVE: 'false',
  });

  afterAll(async () => {
    await run(join(bin, 'skaffold'), ['delete', '-p', 'localkube'], env(), 180_000);
    await kubectl(['delete', 'namespace', 'session-auth', '--wait=false']);
    await run('bash', [join(repoRoot, 'deploy/localkube/images.sh'), 'docker-down'], env(), 60_000);
  });

  it('builds, deploys and serves a login', async () => {
    // skaffold talks to the Docker daemon before any build starts.
    const dockerd = await run('bash', [join(repoRoot, 'deploy/localkube/images.sh'), 'docker-up'], process.env, 120_000);
    expect(dockerd.code, dockerd.out).toBe(0);
    const r = await run(join(bin, 'skaffold'), ['run', '-p', 'localkube', '--status-check=true', '--cache-artifacts=false'], env(), 900_000);
    expect(r.code, r.out.slice(-4000)).toBe(0);
    const app = await pods('session-auth', 'app.kubernetes.io/component=app');
    expect(app.length).toBeGreaterThan(0);
    // The tag skaffold chose (its inputDigest), not the harness's :local.
    const images = await must(kubectl(['-n', 'session-auth', 'get', 'pods', '-l', 'app.kubernetes.io/component=app', '-o', 'jsonpath={.items[*].spec.containers[0].image}']), 'images');
    expect(images).toMatch(/session-auth:[0-9a-f]{12,}/);
    const client = new AuthClient(await serviceUrl('session-auth', 'session-auth'));
    // Ready pods can still answer 503 for a write while the replicas finish their first sync
    // (durable writes wait for one); a client retries, as this one does, for a bounded time.
    let reg = await client.register('skaffold@example.com', 'skaffold correct horse');
    for (let i = 0; i < 60 && reg.status === 503; i++) {
      await new Promise((res) => setTimeout(res, 1_000));
      reg = await client.register('skaffold@example.com', 'skaffold correct horse');
    }
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    expect((await client.login('skaffold@example.com', 'skaffold correct horse')).status).toBe(200);
    expect((await client.me()).status).toBe(200);
  }, 1_800_000);
});
