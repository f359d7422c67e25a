import { describe, it, expect } from 'vitest';
import { nextTurn } from '../../src/sessions/next-turn.js';

describe('nextTurn', () => {
  it('resolves after the microtasks of this turn, in call order, every caller in one setImmediate', async () => {
    const order: string[] = [];
    const done = Promise.all([1, 2, 3].map((n) => nextTurn().then(() => order.push(`turn ${n}`))));
    void Promise.resolve().then(() => order.push('microtask'));
    setImmediate(() => order.push('immediate queued after'));
    await done;
    expect(order).toEqual(['microtask', 'turn 1', 'turn 2', 'turn 3']);
    await new Promise((r) => setImmediate(r));
    expect(order.at(-1)).toBe('immediate queued after');
  });

  it('a caller of the next turn waits for that turn, not for the batch already released', async () => {
    let second = false;
    await nextTurn().then(() => {
      void nextTurn().then(() => (second = true));
      expect(second).toBe(false);
    });
    await nextTurn();
    expect(second).toBe(true);
  });
});
