/**
 * Lua shared by several scripts. The Redis protocol (keys from queueKeys in contract/keys.ts):
 * the pending list holds plain items (so `RPUSH job2 apple` by hand is an item too). Claiming pops
 * items and gives each a token `<owner>#<n>`, unique (n is counted by the worker) and naming the
 * worker that holds it: two equal items are two tokens. A token lives in `processing` (token ->
 * "<attempt>|<item>") and `leases` (token -> lease deadline in ms, Redis server time) until it is
 * completed or dead-lettered. An expired lease, or a score of 0 (failed or released), makes the
 * item claimable again: the claiming worker replaces the token with one of its own, attempt count
 * kept, so a token that is gone from `processing` is one its worker lost.
 */

/** `now`: milliseconds of Redis server time, so that worker clocks never matter. */
export const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/** `entry(value)`: splits a `processing` value into its attempt count and item. */
export const ENTRY = `
local function entry(value)
  local bar = string.find(value, '|', 1, true)
  return tonumber(string.sub(value, 1, bar - 1)), string.sub(value, bar + 1)
end
`;

/**
 * `tokens(list)`: tokens travel as one newline-separated argument, so a batch is one short command
 * for the client to encode and write, not one argument per item.
 */
export const TOKENS = `
local function tokens(list)
  local result = {}
  for token in string.gmatch(list, '[^\\n]+') do result[#result + 1] = token end
  return result
end
`;

/**
 * `replayed()` and `recorded(result)` for the settling scripts (keys: reply; args: call retry
 * replyTtl). Each call records its reply under the worker's reply key; the same call repeated
 * after a lost connection (retry = 1) finds it there and returns it instead of acting twice.
 */
export const REPLY = `
local function replayed()
  if retry ~= '1' then return nil end
  local stored = redis.call('GET', reply)
  if not stored then return nil end
  local bar = string.find(stored, '|', 1, true)
  if string.sub(stored, 1, bar - 1) ~= call then return nil end
  return cjson.decode(string.sub(stored, bar + 1))
end
local function recorded(result)
  redis.call('SET', reply, call .. '|' .. cjson.encode(result), 'PX', replyTtl)
  return result
end
`;

/**
 * `queueState()`: { seed marker exists (0/1), how many of the queue's keys exist }, so a worker
 * that saw the queue can tell when the broker lost it. Needs the keys pending processing done
 * dead seed.
 */
export const STATE = `
local function queueState()
  return { redis.call('EXISTS', seed), redis.call('EXISTS', pending, processing, done, dead, seed) }
end
`;

/**
 * `deadLetter(item, attempts, err)`: pushes an item onto the dead list and its record (see
 * DeadLetters in contract/dead-letters.ts) onto the records list. Needs the keys dead deadRecords.
 */
export const DEAD_LETTER = `
local function deadLetter(item, attempts, err)
  redis.call('RPUSH', dead, item)
  redis.call('RPUSH', deadRecords, attempts .. '|' .. #err .. '|' .. err .. item)
end
`;

/** `record(value)`: splits a dead record into its attempts, error and item. */
export const DEAD_RECORD = `
local function record(value)
  local bar = string.find(value, '|', 1, true)
  local second = string.find(value, '|', bar + 1, true)
  local length = tonumber(string.sub(value, bar + 1, second - 1))
  return tonumber(string.sub(value, 1, bar - 1)), string.sub(value, second + 1, second + length), string.sub(value, second + length + 1)
end
`;
