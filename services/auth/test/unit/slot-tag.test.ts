import { describe, expect, it } from 'vitest';
import { keySlot } from '../../src/redis/slot-tag.js';
import { leadingTag, slotTag } from '../../src/hash-tag.js';
import { isWellFormedSessionToken, isWellFormedToken, newToken, sessionIdFromToken } from '../../src/sessions/token.js';
import { newUserId } from '../../src/users/repository.js';

describe('cluster key layout (redis/slot-tag.ts)', () => {
  it('maps keys to slots as CLUSTER KEYSLOT does, hash tags included', () => {
    // Values from the Redis cluster specification and CLUSTER KEYSLOT's documentation.
    expect(keySlot('somekey')).toBe(11_058);
    expect(keySlot('foo{hash_tag}')).toBe(2515);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    // An empty tag does not count: the whole key is hashed.
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
    expect(keySlot('a')).toBe(15_495);
  });

  it('gives every key of one user one slot, and a token that names it', () => {
    const email = 'ana@example.com';
    const tag = slotTag(email);
    expect(tag).toMatch(/^[A-Za-z0-9_-]{4}$/);
    const userId = newUserId(tag);
    expect(leadingTag(userId)).toBe(tag);
    const token = newToken(userId);
    expect(token).toMatch(new RegExp(`^${tag}\\.[A-Za-z0-9_-]{43}$`));
    expect(isWellFormedSessionToken(token)).toBe(true);
    // A CSRF token is never the tagged shape.
    expect(isWellFormedToken(token)).toBe(false);
    const id = sessionIdFromToken(token);
    expect(id.startsWith(`{${tag}}`)).toBe(true);
    const slots = new Set([`sa:v1:s:${id}`, `sa:v1:u:${userId}:s`, `sa:v1:user:${userId}`, `sa:v1:email:{${tag}}${email}`].map(keySlot));
    expect(slots.size).toBe(1);
  });

  it('leaves untagged ids and tokens as they were (other modes)', () => {
    const userId = newUserId();
    expect(userId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const token = newToken(userId);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessionIdFromToken(token)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
