/** Which primary the sentinels name, and which sentinel to ask the follow-up questions. */
export interface PrimaryVote {
  /** host:port, undefined when no sentinel answered. */
  readonly primary: string | undefined;
  /** Index of the first sentinel that named `primary`: it has just answered, so it is reachable. */
  readonly from: number | undefined;
}

/**
 * Counts the sentinels' answers (one promise per configured sentinel, host:port or undefined) and
 * decides as soon as a majority of the configured sentinels name the same address. Waiting for
 * every answer instead let one silently partitioned sentinel (its connection stays open and
 * "ready", its query waits out the deadline) hold every rediscovery for that deadline, and the
 * +switch-master that arrived meanwhile waited behind it: with the sentinels split 1 / 2 the
 * majority side's apps followed the failover 1-3 s late, twice not before the partition healed.
 * A majority decides the same as the plurality of all answers would (the rest cannot outvote it).
 *
 * Without a majority it waits for every answer (or its deadline) and takes the most common one.
 * On a tie it keeps `current` when `current` is one of the tied answers. A tie means a sentinel
 * that has not caught up yet, one way or the other. Sentinels catch up in well under a second
 * and send +switch-master when they do, which asks again. Moving on a split vote could instead
 * send the app to the old, demoted primary.
 */
export function voteForPrimary(answers: readonly Promise<string | undefined>[], current: string | undefined): Promise<PrimaryVote> {
  const majority = Math.floor(answers.length / 2) + 1;
  // Insertion order is answer order: among equal counts that are not `current`, the first answer wins.
  const votes = new Map<string, { count: number; from: number }>();
  return new Promise<PrimaryVote>((resolve) => {
    let pending = answers.length;
    let decided = false;
    const decide = (vote: PrimaryVote) => {
      if (decided) return;
      decided = true;
      resolve(vote);
    };
    const plurality = (): PrimaryVote => {
      let best: [string, { count: number; from: number }] | undefined;
      for (const entry of votes) {
        if (!best || entry[1].count > best[1].count || (entry[1].count === best[1].count && entry[0] === current)) best = entry;
      }
      return { primary: best?.[0], from: best?.[1].from };
    };
    if (pending === 0) decide({ primary: undefined, from: undefined });
    answers.forEach((answer, i) => {
      answer
        .then(
          (addr) => {
            if (!addr) return;
            const v = votes.get(addr) ?? { count: 0, from: i };
            v.count += 1;
            votes.set(addr, v);
            if (v.count >= majority) decide({ primary: addr, from: v.from });
          },
          () => {},
        )
        .finally(() => {
          if (--pending === 0) decide(plurality());
        });
    });
  });
}
