import { describe, expect, it } from 'vitest';
import { BoundedMap } from '../../src/bounded-map.js';

describe('BoundedMap', () => {
  it('holds at most max entries, dropping the oldest inserted, and an update takes no room', () => {
    const m = new BoundedMap<string, number>(3);
    m.set('a', 1).set('b', 2).set('c', 3);
    m.set('a', 10); // an update: nothing dropped, 'a' keeps its place
    expect([...m]).toEqual([['a', 10], ['b', 2], ['c', 3]]);
    m.set('d', 4);
    expect([...m.keys()]).toEqual(['b', 'c', 'd']);
    for (let i = 0; i < 1000; i++) m.set(`k${i}`, i);
    expect(m.size).toBe(3);
    expect([...m.keys()]).toEqual(['k997', 'k998', 'k999']);
  });
});
