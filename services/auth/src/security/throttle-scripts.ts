import { script } from '../redis/scripts.js';

/** The Lua scripts of RedisLoginThrottle (throttle.ts). */

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

/**
 * Cluster mode only: the per-IP count taken back when the account's scopes then refused the
 * attempt (the two live in different slots, so one script cannot check both). Never below zero,
 * and never on a key that expired meanwhile (DECR would make it -1 without a TTL).
 */
export const THROTTLE_IP_GIVE_BACK = script(
  'throttle_ip_give_back',
  `
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
if c > 0 then return redis.call('DECR', KEYS[1]) end
return 0
`,
);
