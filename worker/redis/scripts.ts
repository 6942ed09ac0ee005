/**
 * The Lua scripts of the Redis protocol. Each runs atomically, so an item is never both pending
 * and leased, and a crash between two calls leaves a consistent state.
 *
 * Keys (see queueKeys in ../contract.ts): the pending list holds plain items (so `RPUSH job2
 * apple` by hand is an item too). Claiming pops items and gives each a unique token: two equal
 * items are two tokens. A token lives in `processing` (token -> item), `leases` (token -> lease
 * deadline in ms, Redis server time), `owners` (token -> worker id) and `attempts` (token ->
 * deliveries so far) until it is completed or dead-lettered. An expired lease, or a score of 0
 * (failed or released), makes the token claimable again, with its attempt count kept.
 */

/** Milliseconds of Redis server time, so that worker clocks never matter. */
const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/** Removes a token from every structure (KEYS: processing leases owners attempts). */
const FORGET = `
local function forget(token)
  redis.call('HDEL', KEYS_PROCESSING, token)
  redis.call('HDEL', KEYS_OWNERS, token)
  redis.call('HDEL', KEYS_ATTEMPTS, token)
  redis.call('ZREM', KEYS_LEASES, token)
end
`;

/**
 * KEYS: pending processing leases owners attempts dead sequence
 * ARGV: owner max leaseMs maxAttempts
 * Reclaims expired or released tokens first (dead-lettering those whose attempts ran out), then
 * pops new items. Returns { {token, item, attempt, ...}, {deadItem, ...}, pendingLength, leaseCount, msUntilNextExpiry }.
 * Each structure is written with one call per batch, not per item: that is what makes batches cheap.
 */
export const CLAIM = `
local KEYS_PROCESSING, KEYS_LEASES, KEYS_OWNERS, KEYS_ATTEMPTS = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
${NOW}${FORGET}
local owner, max, deadline, maxAttempts = ARGV[1], tonumber(ARGV[2]), now + tonumber(ARGV[3]), tonumber(ARGV[4])
local claimed, dead = {}, {}
local owners, leases, attempts, processing = {}, {}, {}, {}
local count = 0
local expired = redis.call('ZRANGEBYSCORE', KEYS_LEASES, '-inf', now, 'LIMIT', 0, max)
for _, token in ipairs(expired) do
  local attempt = redis.call('HINCRBY', KEYS_ATTEMPTS, token, 1)
  local item = redis.call('HGET', KEYS_PROCESSING, token)
  if attempt > maxAttempts then
    redis.call('RPUSH', KEYS[6], item)
    forget(token)
    dead[#dead + 1] = item
  else
    owners[#owners + 1] = token
    owners[#owners + 1] = owner
    leases[#leases + 1] = deadline
    leases[#leases + 1] = token
    claimed[#claimed + 1] = token
    claimed[#claimed + 1] = item
    claimed[#claimed + 1] = attempt
    count = count + 1
  end
end
if count < max then
  local items = redis.call('LPOP', KEYS[1], max - count)
  if items then
    local last = redis.call('INCRBY', KEYS[7], #items)
    for i, item in ipairs(items) do
      local token = tostring(last - #items + i)
      processing[#processing + 1] = token
      processing[#processing + 1] = item
      attempts[#attempts + 1] = token
      attempts[#attempts + 1] = 1
      owners[#owners + 1] = token
      owners[#owners + 1] = owner
      leases[#leases + 1] = deadline
      leases[#leases + 1] = token
      claimed[#claimed + 1] = token
      claimed[#claimed + 1] = item
      claimed[#claimed + 1] = 1
    end
  end
end
if #processing > 0 then
  redis.call('HSET', KEYS_PROCESSING, unpack(processing))
  redis.call('HSET', KEYS_ATTEMPTS, unpack(attempts))
end
if #owners > 0 then
  redis.call('HSET', KEYS_OWNERS, unpack(owners))
  redis.call('ZADD', KEYS_LEASES, unpack(leases))
end
local nextExpiry = -1
local first = redis.call('ZRANGE', KEYS_LEASES, 0, 0, 'WITHSCORES')
if first[2] then nextExpiry = math.max(0, tonumber(first[2]) - now) end
return { claimed, dead, redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS_LEASES), nextExpiry }
`;

/**
 * KEYS: processing leases owners attempts done
 * ARGV: owner token...
 * Completes the tokens this worker still owns. Returns the tokens it no longer owned.
 */
export const COMPLETE = `
local tokens = { unpack(ARGV, 2) }
local owners = redis.call('HMGET', KEYS[3], unpack(tokens))
local mine, lost = {}, {}
for i, token in ipairs(tokens) do
  if owners[i] == ARGV[1] then mine[#mine + 1] = token else lost[#lost + 1] = token end
end
if #mine > 0 then
  redis.call('HDEL', KEYS[1], unpack(mine))
  redis.call('HDEL', KEYS[3], unpack(mine))
  redis.call('HDEL', KEYS[4], unpack(mine))
  redis.call('ZREM', KEYS[2], unpack(mine))
  redis.call('INCRBY', KEYS[5], #mine)
end
return lost
`;

/**
 * KEYS: leases owners
 * ARGV: owner leaseMs token...
 * Extends the leases this worker still owns. Returns the tokens it no longer owned.
 */
export const RENEW = `
${NOW}
local deadline = now + tonumber(ARGV[2])
local tokens = { unpack(ARGV, 3) }
local owners = redis.call('HMGET', KEYS[2], unpack(tokens))
local leases, lost = {}, {}
for i, token in ipairs(tokens) do
  if owners[i] == ARGV[1] then
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
 * KEYS: processing leases owners attempts dead
 * ARGV: owner maxAttempts token
 * The handler failed: dead-letters the item when its attempts are used up, else makes it
 * claimable again at once. Returns 'dead', 'retry' or 'lost' (no longer ours).
 */
export const FAIL = `
local KEYS_PROCESSING, KEYS_LEASES, KEYS_OWNERS, KEYS_ATTEMPTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
${FORGET}
local token = ARGV[3]
if redis.call('HGET', KEYS_OWNERS, token) ~= ARGV[1] then return 'lost' end
if tonumber(redis.call('HGET', KEYS_ATTEMPTS, token)) >= tonumber(ARGV[2]) then
  redis.call('RPUSH', KEYS[5], redis.call('HGET', KEYS_PROCESSING, token))
  forget(token)
  return 'dead'
end
redis.call('HDEL', KEYS_OWNERS, token)
redis.call('ZADD', KEYS_LEASES, 0, token)
return 'retry'
`;

/**
 * KEYS: leases owners attempts
 * ARGV: owner token...
 * Hands tokens back untouched: claimable at once, and the delivery does not count as an attempt.
 */
export const RELEASE = `
for i = 2, #ARGV do
  local token = ARGV[i]
  if redis.call('HGET', KEYS[2], token) == ARGV[1] then
    redis.call('HDEL', KEYS[2], token)
    redis.call('HINCRBY', KEYS[3], token, -1)
    redis.call('ZADD', KEYS[1], 0, token)
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
