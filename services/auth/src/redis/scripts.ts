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

// Login throttle (security/throttle.ts explains the scopes). KEYS[1] the per-IP counter when
// ARGV[4] > 0, then one hash per backoff scope: c attempts counted, n the time the next attempt
// is allowed, p the n before the last attempt (for a refund), t the last attempt.
// ARGV: now, windowMs, backoffMaxMs, ipMax (0: no IP key), then one budget per backoff scope.
// Returns {allowed, retryAfterMs, deniedScope (1-based among the backoff scopes; 0 = the IP)}.
// Nothing is counted unless every scope allows: a refused attempt checks no password, so it
// must not push the delay further. `now` comes from the app so a test can drive a clock; app
// replicas' clocks differ by milliseconds, which shifts a delay by as much.
export const THROTTLE_CHECK = script(
  'throttle_check',
  `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local maxDelay = tonumber(ARGV[3])
local ipMax = tonumber(ARGV[4])
local first = 1
if ipMax > 0 then
  local ip = tonumber(redis.call('GET', KEYS[1]) or '0')
  if ip >= ipMax then return {0, math.max(redis.call('PTTL', KEYS[1]), 1), 0} end
  first = 2
end
local state = {}
for i = first, #KEYS do
  local h = redis.call('HMGET', KEYS[i], 'c', 'n', 't')
  local c, n, t = tonumber(h[1] or '0'), tonumber(h[2] or '0'), tonumber(h[3] or '0')
  if c > 0 and now - math.max(t, n) >= window then c, n = 0, 0 end
  if now < n then return {0, n - now, i - first + 1} end
  state[i] = {c, n}
end
if ipMax > 0 then
  if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], window) end
end
for i = first, #KEYS do
  local c = state[i][1] + 1
  local budget = tonumber(ARGV[4 + i - first + 1])
  local n = state[i][2]
  if c >= budget then n = now + math.min(1000 * 2 ^ (c - budget), maxDelay) end
  redis.call('HSET', KEYS[i], 'c', c, 'n', string.format('%d', n), 'p', string.format('%d', state[i][2]), 't', now)
  redis.call('PEXPIRE', KEYS[i], window + maxDelay)
end
return {1, 0, 0}
`,
);

// KEYS: backoff scope hashes. Gives back an attempt that never checked a password (shed as
// BUSY, a store error): one count, and the delay that attempt set. Never below zero.
export const THROTTLE_REFUND = script(
  'throttle_refund',
  `
for i = 1, #KEYS do
  local h = redis.call('HMGET', KEYS[i], 'c', 'p')
  local c = tonumber(h[1] or '0')
  if c > 0 then redis.call('HSET', KEYS[i], 'c', c - 1, 'n', h[2] or '0') end
end
return 1
`,
);

// KEYS[1] the scope a success clears (account+IP, or device), KEYS[2] (optional) the account
// ceiling; ARGV: the ceiling's budget. The password was right: the client's own scope is cleared,
// and its attempt is taken back from the ceiling, whose other attempts (guesses from elsewhere)
// stay counted. Its delay goes only if the count is back under the budget.
export const THROTTLE_SUCCESS = script(
  'throttle_success',
  `
redis.call('DEL', KEYS[1])
if KEYS[2] then
  local c = tonumber(redis.call('HGET', KEYS[2], 'c') or '0')
  if c > 0 then
    c = c - 1
    if c < tonumber(ARGV[1]) then redis.call('HSET', KEYS[2], 'c', c, 'n', '0') else redis.call('HSET', KEYS[2], 'c', c) end
  end
end
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
