import { describe, expect, it } from 'vitest';
import { voteForPrimary } from '../../src/redis/sentinel-vote.js';

/** A sentinel that never answers (cut off, its connection still open). */
const silent = () => new Promise<string | undefined>(() => {});
const says = (addr: string | undefined) => Promise.resolve(addr);
const down = () => Promise.reject(new Error('down'));

describe('voteForPrimary', () => {
  it('decides on a majority without waiting for a sentinel that never answers', async () => {
    expect(await voteForPrimary([silent(), says('10.0.0.2:6379'), says('10.0.0.2:6379')], '10.0.0.1:6379')).toEqual({ primary: '10.0.0.2:6379', from: 1 });
  });

  it('outvotes a lone stale sentinel', async () => {
    expect(await voteForPrimary([says('10.0.0.1:6379'), says('10.0.0.2:6379'), says('10.0.0.2:6379')], '10.0.0.1:6379')).toEqual({ primary: '10.0.0.2:6379', from: 1 });
  });

  it('takes the most common answer once every sentinel answered or failed', async () => {
    expect(await voteForPrimary([down(), says(undefined), says('10.0.0.3:6379')], undefined)).toEqual({ primary: '10.0.0.3:6379', from: 2 });
    expect(await voteForPrimary([down(), down(), down()], '10.0.0.1:6379')).toEqual({ primary: undefined, from: undefined });
  });

  it('keeps the current primary on a split vote, whichever sentinel answered first', async () => {
    expect(await voteForPrimary([down(), says('10.0.0.2:6379'), says('10.0.0.1:6379')], '10.0.0.1:6379')).toEqual({ primary: '10.0.0.1:6379', from: 2 });
    expect(await voteForPrimary([down(), says('10.0.0.1:6379'), says('10.0.0.2:6379')], '10.0.0.1:6379')).toEqual({ primary: '10.0.0.1:6379', from: 1 });
  });
});
