import { script } from '../redis/scripts.js';

/**
 * Redis layout of the replicated store, under one namespace (REPLICATED_KEY_PREFIX):
 *   <ns>:log      stream of changes; entry id is `<seq>-0`, so stream order == seq order
 *   <ns>:seq      INCR counter, the last seq handed out
 *   <ns>:epoch    random id of this history; a Redis that lost its data gets a new one
 *   <ns>:snap     hash id -> `<expiresAtMs>|<seq>|<packed session>` (sessions/codec.ts): the state every event leads to
 *   <ns>:exp      sorted set id -> expiresAtMs, to prune expired snapshot entries a few at a time
 *   <ns>:u:<uid>  sorted set of a user's ids by createdAt (per-user limit, logout-all)
 * Every write script reads first, then emits the event (INCR + XADD), then mutates: Lua does not
 * roll back, so a failing XADD leaves at most a seq without an event, which replicas see as a gap
 * and resynchronise from; it never leaves a state change no replica is told about.
 */
export interface ReplicationKeys {
  readonly log: string;
  readonly seq: string;
  readonly epoch: string;
  readonly snap: string;
  readonly exp: string;
  readonly userPrefix: string;
}

function replicationKeys(ns: string): ReplicationKeys {
  return {
    log: `${ns}:log`,
    seq: `${ns}:seq`,
    epoch: `${ns}:epoch`,
    snap: `${ns}:snap`,
    exp: `${ns}:exp`,
    userPrefix: `${ns}:u:`,
  };
}

/** KEYS order shared by every script below. */
function baseKeys(k: ReplicationKeys): string[] {
  return [k.log, k.seq, k.snap, k.exp, k.epoch];
}

/** What every replication script call starts with: the keys, and ARGV 1-3 of the prelude. */
export interface ReplicationLayout {
  readonly keys: ReplicationKeys;
  readonly base: readonly string[];
  /** ARGV 1-3: now, the stream's MAXLEN, this process's epoch candidate. */
  prelude(now: number): (string | number)[];
}

export function replicationLayout(ns: string, maxLen: number, epochCandidate: string): ReplicationLayout {
  const keys = replicationKeys(ns);
  return { keys, base: baseKeys(keys), prelude: (now) => [now, maxLen, epochCandidate] };
}

// Shared prelude. KEYS: 1 log, 2 seq, 3 snap, 4 exp, 5 epoch, [6 user index].
// ARGV: 1 now (ms), 2 stream MAXLEN (approximate), 3 epoch candidate, then script-specific.
const PRELUDE = `
local now = tonumber(ARGV[1])
local function parse(v)
  local a = string.find(v, '|', 1, true)
  local b = string.find(v, '|', a + 1, true)
  return tonumber(string.sub(v, 1, a - 1)), tonumber(string.sub(v, a + 1, b - 1)), string.sub(v, b + 1)
end
local function emit(fields)
  local seq = redis.call('INCR', KEYS[2])
  local epoch = redis.call('GET', KEYS[5])
  if not epoch then
    epoch = ARGV[3]
    redis.call('SET', KEYS[5], epoch)
  end
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], string.format('%d-0', seq), 'e', epoch, 'w', ARGV[1], unpack(fields))
  return seq
end
local function prune(limit)
  local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, limit)
  for _, m in ipairs(old) do
    redis.call('HDEL', KEYS[3], m)
    redis.call('ZREM', KEYS[4], m)
  end
end
`;

// ARGV: 4 id, 5 packed session, 6 expiresAt, 7 createdAt, 8 maxPerUser, 9 user index expire-at.
// Returns {seq, evictedCount, evictedId...}; seq is the entry's own seq for an idempotent replay.
export const R_CREATE = script(
  'replicated_create',
  `${PRELUDE}
local cur = redis.call('HGET', KEYS[3], ARGV[4])
if cur then
  local x, s, j = parse(cur)
  if x > now then
    if j ~= ARGV[5] then return redis.error_reply('COLLISION session id already exists') end
    return {s, 0}
  end
end
redis.call('ZADD', KEYS[6], ARGV[7], ARGV[4])
local members = redis.call('ZRANGE', KEYS[6], 0, -1)
-- The session being created is never a victim (same-millisecond logins, skewed replica clocks):
-- only the others, oldest first.
local others = {}
for _, m in ipairs(members) do
  if m ~= ARGV[4] then
    local v = redis.call('HGET', KEYS[3], m)
    if v and parse(v) > now then
      others[#others + 1] = m
    else
      redis.call('ZREM', KEYS[6], m)
    end
  end
end
local evict = {}
for i = 1, #others + 1 - tonumber(ARGV[8]) do evict[#evict + 1] = others[i] end
local seq = emit({'o', 'c', 'p', ARGV[4], 'x', ARGV[6], 'v', ARGV[5], 'd', table.concat(evict, ',')})
redis.call('HSET', KEYS[3], ARGV[4], ARGV[6] .. '|' .. string.format('%d', seq) .. '|' .. ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[4])
for _, m in ipairs(evict) do
  redis.call('HDEL', KEYS[3], m)
  redis.call('ZREM', KEYS[4], m)
  redis.call('ZREM', KEYS[6], m)
end
local want = tonumber(ARGV[9])
if redis.call('PEXPIRETIME', KEYS[6]) < want then redis.call('PEXPIREAT', KEYS[6], ARGV[9]) end
prune(20)
local out = {seq, #evict}
for _, m in ipairs(evict) do out[#out + 1] = m end
return out
`,
);

// ARGV: 4 id, 5 packed session, 6 expiresAt. Returns {seq} (0: no live session, nothing written).
export const R_TOUCH = script(
  'replicated_touch',
  `${PRELUDE}
local cur = redis.call('HGET', KEYS[3], ARGV[4])
if not cur or parse(cur) <= now then return {0} end
local seq = emit({'o', 't', 'p', ARGV[4], 'x', ARGV[6], 'v', ARGV[5]})
redis.call('HSET', KEYS[3], ARGV[4], ARGV[6] .. '|' .. string.format('%d', seq) .. '|' .. ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[4])
return {seq}
`,
);

// ARGV: 4 id, 5 user index prefix. Returns {seq, removed}.
export const R_REVOKE = script(
  'replicated_revoke',
  `${PRELUDE}
local cur = redis.call('HGET', KEYS[3], ARGV[4])
if not cur then return {0, 0} end
local x, _, j = parse(cur)
if x <= now then
  redis.call('HDEL', KEYS[3], ARGV[4])
  redis.call('ZREM', KEYS[4], ARGV[4])
  return {0, 0}
end
local seq = emit({'o', 'r', 'd', ARGV[4]})
redis.call('HDEL', KEYS[3], ARGV[4])
redis.call('ZREM', KEYS[4], ARGV[4])
-- The user id is the first field of the packed record (sessions/codec.ts).
local uid = string.match(j, '^([^\\031]+)\\031')
if uid then
  redis.call('ZREM', ARGV[5] .. uid, ARGV[4])
end
return {seq, 1}
`,
);

// KEYS[6] user index; ARGV: 4 exceptId ('' for none). Returns {seq, revokedCount, id...}.
export const R_REVOKE_ALL = script(
  'replicated_revoke_all',
  `${PRELUDE}
local members = redis.call('ZRANGE', KEYS[6], 0, -1)
local gone, live = {}, {}
for _, m in ipairs(members) do
  if m ~= ARGV[4] then
    gone[#gone + 1] = m
    local v = redis.call('HGET', KEYS[3], m)
    if v and parse(v) > now then live[#live + 1] = m end
  end
end
local seq = 0
if #live > 0 then seq = emit({'o', 'a', 'd', table.concat(live, ',')}) end
for _, m in ipairs(gone) do
  redis.call('HDEL', KEYS[3], m)
  redis.call('ZREM', KEYS[4], m)
  redis.call('ZREM', KEYS[6], m)
end
local out = {seq, #live}
for _, m in ipairs(live) do out[#out + 1] = m end
return out
`,
);

// The head of the history: {epoch, seq}. Creates the epoch when the namespace is new (or lost).
export const R_HEAD = script(
  'replicated_head',
  `
local epoch = redis.call('GET', KEYS[5])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[5], epoch)
end
return {epoch, tonumber(redis.call('GET', KEYS[2]) or '0')}
`,
);
