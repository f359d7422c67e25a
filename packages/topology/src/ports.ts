import { createServer } from 'node:net';

export const LOOPBACK = '127.0.0.1';

// Ports this process has handed out recently. The kernel may hand the same ephemeral port to two
// freePort() calls in a row once the probe socket is closed; remembering them avoids giving one
// port to two nodes of the same topology. Collisions with other processes (parallel test files)
// cannot be ruled out this way: RedisProcess retries its first start on "Address already in use".
const recentlyIssued = new Set<number>();
const RECENT_LIMIT = 1024;

function probe(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read bound port'))));
    });
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await probe();
    if (recentlyIssued.has(port)) continue;
    recentlyIssued.add(port);
    if (recentlyIssued.size > RECENT_LIMIT) {
      const oldest = recentlyIssued.values().next().value;
      if (oldest !== undefined) recentlyIssued.delete(oldest);
    }
    return port;
  }
  throw new Error('freePort: no unused loopback port found after 50 attempts');
}
