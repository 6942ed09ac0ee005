/**
 * The Lua scripts of the Redis protocol. Each runs atomically, so an item is never both pending
 * and leased, and a crash between two calls leaves a consistent state.
 *
 * Keys (see queueKeys in ../contract.ts): the pending list holds plain items (so `RPUSH job2
 * apple` by hand is an item too). Claiming pops items and gives each a token `<owner>#<n>`, unique
 * (`sequence`) and naming the worker that holds it: two equal items are two tokens. A token lives
 * in `processing` (token -> "<attempt>|<item>") and `leases` (token -> lease deadline in ms, Redis
 * server time) until it is completed or dead-lettered. An expired lease, or a score of 0 (failed
 * or released), makes the item claimable again: the claiming worker replaces the token with one of
 * its own, attempt count kept, so a token that is gone from `processing` is one its worker lost.
 * One hash field and one sorted-set member per item keep the server's work per item small.
 */

/** Milliseconds of Redis server time, so that worker clocks never matter. */
const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/** Splits a `processing` value into its attempt count and item. */
const ENTRY = `
local function entry(value)
  local bar = string.find(value, '|', 1, true)
  return tonumber(string.sub(value, 1, bar - 1)), string.sub(value, bar + 1)
end
`;

/**
 * KEYS: pending processing leases dead sequence
 * ARGV: owner max leaseMs maxAttempts
 * Takes over expired or released tokens first (dead-lettering those whose attempts ran out), then
 * pops new items. Returns { {token, item, attempt, ...}, {deadItem, ...}, pendingLength, leaseCount, msUntilNextExpiry }.
 * Each structure is written with one call per batch, not per item: that is what makes batches cheap.
 */
export const CLAIM = `
${NOW}${ENTRY}
local owner, max, deadline, maxAttempts = ARGV[1], tonumber(ARGV[2]), now + tonumber(ARGV[3]), tonumber(ARGV[4])
local claimed, dead, entries, leases = {}, {}, {}, {}
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, max)
local reclaim = {}
if #expired > 0 then
  local values = redis.call('HMGET', KEYS[2], unpack(expired))
  redis.call('HDEL', KEYS[2], unpack(expired))
  redis.call('ZREM', KEYS[3], unpack(expired))
  for i = 1, #expired do
    local attempt, item = entry(values[i])
    attempt = attempt + 1
    if attempt > maxAttempts then
      redis.call('RPUSH', KEYS[4], item)
      dead[#dead + 1] = item
    else
      reclaim[#reclaim + 1] = { item, attempt }
    end
  end
end
local fresh = {}
if #reclaim < max then fresh = redis.call('LPOP', KEYS[1], max - #reclaim) or {} end
local count = #reclaim + #fresh
if count > 0 then
  local last = redis.call('INCRBY', KEYS[5], count)
  local function take(n, item, attempt)
    local token = owner .. '#' .. (last - count + n)
    entries[#entries + 1] = token
    entries[#entries + 1] = attempt .. '|' .. item
    leases[#leases + 1] = deadline
    leases[#leases + 1] = token
    claimed[#claimed + 1] = token
    claimed[#claimed + 1] = item
    claimed[#claimed + 1] = attempt
  end
  for n, taken in ipairs(reclaim) do take(n, taken[1], taken[2]) end
  for n, item in ipairs(fresh) do take(#reclaim + n, item, 1) end
  redis.call('HSET', KEYS[2], unpack(entries))
  redis.call('ZADD', KEYS[3], unpack(leases))
end
local nextExpiry = -1
local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if first[2] then nextExpiry = math.max(0, tonumber(first[2]) - now) end
return { claimed, dead, redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS[3]), nextExpiry }
`;

/**
 * Tokens travel as one newline-separated argument: a batch is then one short command for the
 * client to encode and write, not one argument per item.
 */
const TOKENS = `
local function tokens(list)
  local result = {}
  for token in string.gmatch(list, '[^\\n]+') do result[#result + 1] = token end
  return result
end
`;

/**
 * KEYS: processing leases done
 * ARGV: tokens (newline-separated)
 * Completes the tokens this worker still holds. Returns the tokens it no longer held.
 */
export const COMPLETE = `
${TOKENS}
local mine, lost = {}, {}
for _, token in ipairs(tokens(ARGV[1])) do
  if redis.call('HDEL', KEYS[1], token) == 1 then mine[#mine + 1] = token else lost[#lost + 1] = token end
end
if #mine > 0 then
  redis.call('ZREM', KEYS[2], unpack(mine))
  redis.call('INCRBY', KEYS[3], #mine)
end
return lost
`;

/**
 * KEYS: leases
 * ARGV: leaseMs tokens (newline-separated)
 * Extends the leases this worker still holds. Returns the tokens it no longer held.
 */
export const RENEW = `
${NOW}${TOKENS}
local deadline = now + tonumber(ARGV[1])
local held = tokens(ARGV[2])
local scores = redis.call('ZMSCORE', KEYS[1], unpack(held))
local leases, lost = {}, {}
for i, token in ipairs(held) do
  if scores[i] then
    leases[#leases + 1] = deadline
    leases[#leases + 1] = token
  else
    lost[#lost + 1] = token
  end
end
if #leases > 0 then redis.call('ZADD', KEYS[1], 'XX', unpack(leases)) end
return lost
`;

/**
 * KEYS: processing leases dead
 * ARGV: maxAttempts token
 * The handler failed: dead-letters the item when its attempts are used up, else makes it
 * claimable again at once. Returns 'dead', 'retry' or 'lost' (no longer ours).
 */
export const FAIL = `
${ENTRY}
local token = ARGV[2]
local value = redis.call('HGET', KEYS[1], token)
if not value then return 'lost' end
local attempt, item = entry(value)
if attempt >= tonumber(ARGV[1]) then
  redis.call('RPUSH', KEYS[3], item)
  redis.call('HDEL', KEYS[1], token)
  redis.call('ZREM', KEYS[2], token)
  return 'dead'
end
redis.call('ZADD', KEYS[2], 0, token)
return 'retry'
`;

/**
 * KEYS: processing leases
 * ARGV: tokens (newline-separated)
 * Hands tokens back untouched: claimable at once, and the delivery does not count as an attempt.
 */
export const RELEASE = `
${ENTRY}${TOKENS}
for _, token in ipairs(tokens(ARGV[1])) do
  local value = redis.call('HGET', KEYS[1], token)
  if value then
    local attempt, item = entry(value)
    redis.call('HSET', KEYS[1], token, (attempt - 1) .. '|' .. item)
    redis.call('ZADD', KEYS[2], 0, token)
  end
end
return 0
`;

/**
 * KEYS: pending leases done dead seed
 * Returns { pending, inProgress, done, dead, seeded, seedId, seedTotal, seedPushed }: expired or
 * released leases count as pending, since any worker may claim them now.
 */
export const STATUS = `
${NOW}
local waiting = redis.call('ZCOUNT', KEYS[2], '-inf', now)
local leased = redis.call('ZCARD', KEYS[2]) - waiting
local seed = redis.call('HMGET', KEYS[5], 'seeded', 'id', 'total', 'pushed')
return { redis.call('LLEN', KEYS[1]) + waiting, leased, tonumber(redis.call('GET', KEYS[3]) or '0'),
  redis.call('LLEN', KEYS[4]), seed[1] or false, seed[2] or false, seed[3] or false, seed[4] or false }
`;

/**
 * KEYS: seed
 * ARGV: id total force
 * Decides where a seed run starts. A new marker is written when there is none, when --force is
 * given, or when the previous seed (of other items) finished. Returns { 'fresh' } or
 * { 'resume', pushed } or { 'conflict', id, total, pushed }.
 */
export const SEED_BEGIN = `
local marker = redis.call('HMGET', KEYS[1], 'id', 'total', 'pushed')
local id, total, pushed = marker[1], tonumber(marker[2]), tonumber(marker[3])
if ARGV[3] == '1' or not id or (id ~= ARGV[1] and pushed == total) then
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'total', ARGV[2], 'pushed', 0)
  return { 'fresh' }
end
if id == ARGV[1] then return { 'resume', pushed } end
return { 'conflict', id, total, pushed }
`;

/**
 * KEYS: pending seed
 * ARGV: id offset item...
 * Appends one chunk and advances the marker in the same step, only if the marker still says this
 * seed has exactly `offset` items on the queue (so a rerun or a second seeder never adds a chunk
 * twice). Returns the marker's pushed count after the call, or -1 when another seed took over.
 */
export const SEED_CHUNK = `
local marker = redis.call('HMGET', KEYS[2], 'id', 'pushed')
if marker[1] ~= ARGV[1] then return -1 end
local pushed = tonumber(marker[2])
if pushed ~= tonumber(ARGV[2]) then return pushed end
redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
redis.call('HINCRBY', KEYS[2], 'seeded', #ARGV - 2)
return redis.call('HINCRBY', KEYS[2], 'pushed', #ARGV - 2)
`;
