import { createHash } from 'node:crypto';

export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

function script(name: string, source: string): Script {
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * Every script is idempotent: replaying it after a failover (node-redis or the caller retrying a
 * write whose reply was lost) leaves the same state as running it once.
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

// KEYS[1] ip counter, KEYS[2] (optional) account counter; ARGV: ipMax, accountMax, windowMs.
// Counts this attempt against the IP and, when given, against the account, then reports
// {allowed, retryAfterMs}. The account counts attempts, not failures: a failure is only known
// after argon2, and counting then let every attempt already in flight through. A successful
// login deletes the account counter, so for a legitimate user it is the failures since the last
// success plus the attempt under way.
export const THROTTLE_CHECK = script(
  'throttle_check',
  `
local ip = redis.call('INCR', KEYS[1])
if ip == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
if ip > tonumber(ARGV[1]) then return {0, redis.call('PTTL', KEYS[1])} end
if KEYS[2] then
  local acct = redis.call('INCR', KEYS[2])
  if acct == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
  if acct > tonumber(ARGV[2]) then return {0, redis.call('PTTL', KEYS[2])} end
end
return {1, 0}
`,
);

// KEYS[1] account counter. Gives back an attempt that never checked a password (shed as BUSY);
// only while its window lives, so it can neither go below zero nor outlive the window.
export const THROTTLE_REFUND = script(
  'throttle_refund',
  `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return n
`,
);
