/**
 * Resolves in the next turn of the event loop, one setImmediate for every caller of this turn.
 *
 * Why: a store that answers from memory (the memory store, a near-cache hit) lets the whole
 * request finish inside the socket read that delivered it, so the server alternates Koa's work
 * with one response write at a time. Measured on the bench's 2-core AMD EPYC VM
 * (`PROFILE_STORE=memory npx tsx bench/profile.ts`, 2026-12-02): 211-224 us of server CPU per
 * GET /auth/me answered in the read, 125-155 us when the answer waits for the next turn, where the
 * answers of every request read in this turn are written together, as Redis replies arriving in
 * one read are. The cost is one event-loop turn of latency, well under a millisecond.
 */
let waiting: (() => void)[] | null = null;

function release(): void {
  const now = waiting!;
  waiting = null;
  for (const resolve of now) resolve();
}

export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    if (waiting) {
      waiting.push(resolve);
      return;
    }
    waiting = [resolve];
    setImmediate(release);
  });
}
