import type { RedisExec } from '../../src/redis/exec.js';

/**
 * A partition between a replica's follower and Redis, at the connection's edge: while cut, the
 * replies of the real Redis are held (as a dead link holds them) and the follower, waiting for
 * them, sends nothing more. Held replies can be let through one at a time (release) or all at
 * once (heal), so a test can place the follower exactly between two changes.
 */
export function partitionable(exec: RedisExec) {
  let cut = false;
  const held: { reply: unknown; release: () => void }[] = [];
  const send = async <T>(args: string[], opts?: { readonly?: boolean }): Promise<T> => {
    const reply = await exec.send<T>(args, opts);
    if (cut) await new Promise<void>((release) => held.push({ reply, release }));
    return reply;
  };
  return {
    exec: { send } satisfies RedisExec,
    cut(): void {
      cut = true;
    },
    /** The replies held so far, oldest first. */
    held(): readonly unknown[] {
      return held.map((h) => h.reply);
    },
    /** Lets the oldest held reply through; the link stays cut. */
    release(): void {
      held.shift()?.release();
    },
    heal(): void {
      cut = false;
      for (const h of held.splice(0)) h.release();
    },
  };
}
