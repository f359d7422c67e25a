import { script } from '../redis/scripts.js';

/**
 * The Lua scripts of RedisSessionStore (redis-store.ts). Every script is idempotent: replaying it
 * after a failover (node-redis or the caller retrying a write whose reply was lost) leaves the same
 * state as running it once.
 */

// KEYS[1] session key, KEYS[2] user index
// ARGV: value, ttlMs, createdAt, maxPerUser, sessionKeyPrefix, id, indexExpireAtMs
export const CREATE_SESSION = script(
  'create_session',
  `
local ok = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
if not ok then
  if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return redis.error_reply('COLLISION session id already exists')
  end
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[6])
local members = redis.call('ZRANGE', KEYS[2], 0, -1)
-- The session being created is never a victim, even when another one has the same or a later
-- score (two logins in one millisecond, clocks of app replicas apart): only the others, oldest first.
local others = {}
for _, m in ipairs(members) do
  if m ~= ARGV[6] then
    if redis.call('EXISTS', ARGV[5] .. m) == 1 then
      others[#others + 1] = m
    else
      redis.call('ZREM', KEYS[2], m)
    end
  end
end
local evicted = 0
for i = 1, #others + 1 - tonumber(ARGV[4]) do
  redis.call('DEL', ARGV[5] .. others[i])
  redis.call('ZREM', KEYS[2], others[i])
  evicted = evicted + 1
end
local want = tonumber(ARGV[7])
local cur = redis.call('PEXPIRETIME', KEYS[2])
if cur < want then redis.call('PEXPIREAT', KEYS[2], want) end
return evicted
`,
);

// KEYS[1] session key; ARGV: userIndexPrefix, userIndexSuffix, id
export const REVOKE_SESSION = script(
  'revoke_session',
  `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
redis.call('DEL', KEYS[1])
-- The user id is the first field of the packed record (sessions/codec.ts).
local uid = string.match(v, '^([^\\031]+)\\031')
if uid then
  redis.call('ZREM', ARGV[1] .. uid .. ARGV[2], ARGV[3])
end
return 1
`,
);

// KEYS[1] user index; ARGV: sessionKeyPrefix, exceptId ('' for none)
export const REVOKE_ALL = script(
  'revoke_all',
  `
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local n = 0
for _, m in ipairs(members) do
  if m ~= ARGV[2] then
    n = n + redis.call('DEL', ARGV[1] .. m)
    redis.call('ZREM', KEYS[1], m)
  end
end
return n
`,
);

// KEYS[1] user index; ARGV: sessionKeyPrefix. Returns {id, value, id, value, ...}; prunes dead ids.
export const LIST_SESSIONS = script(
  'list_sessions',
  `
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for _, m in ipairs(members) do
  local v = redis.call('GET', ARGV[1] .. m)
  if v then
    out[#out + 1] = m
    out[#out + 1] = v
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return out
`,
);
