import { script } from '../redis/scripts.js';

/** The Lua scripts of RedisUserRepository (repository.ts); idempotent, like every store script. */

// KEYS[1] email key, KEYS[2] user key; ARGV: userId, email, passwordHash, createdAt
export const CREATE_USER = script(
  'create_user',
  `
local ok = redis.call('SET', KEYS[1], ARGV[1], 'NX')
if not ok then
  if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
end
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'email', ARGV[2], 'hash', ARGV[3], 'createdAt', ARGV[4])
return 1
`,
);

// KEYS[1] user key, KEYS[2] email key; ARGV: userId. Removes the user and its email index (only
// if the index still names this user). Idempotent: a replay after a failover removes nothing more.
export const DELETE_USER = script(
  'delete_user',
  `
local n = redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return n
`,
);

// KEYS[1] user key; ARGV: passwordHash. Only if the user still exists: a password change (or a
// rehash) must not resurrect a deleted account. 1 when the user exists.
export const SET_PASSWORD_HASH = script(
  'set_password_hash',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'hash', ARGV[1])
return 1
`,
);
