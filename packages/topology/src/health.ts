import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `reason` (undefined = healthy) every 100 ms until it is healthy or `timeoutMs` passes;
 * the error names the last reason, so a failed wait says what was still missing. Shared by the
 * Sentinel and cluster topologies' waitHealthy.
 */
export async function waitUntilHealthy(what: string, reason: () => Promise<string | undefined>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not checked';
  while (Date.now() < deadline) {
    try {
      const r = await reason();
      if (r === undefined) return;
      last = r;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${what} not healthy within ${timeoutMs} ms: ${last}`);
}
