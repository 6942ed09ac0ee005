import { arrayOf, groupsOf, integer, optionalText, text, tuple } from '../reply';
import { luaScript } from '../script';
import { DEAD_LETTER, ENTRY, NOW, STATE } from './fragments';

/**
 * Takes over expired or released tokens first (dead-lettering those whose attempts ran out, with a
 * record that says so), then
 * pops new items; the tokens are `<owner>#<first>`, `<owner>#<first + 1>`, ... With recover = 1
 * (the same call repeated after a lost connection) it first looks for those tokens: if the first
 * run took effect, they are this worker's already and are returned again, leases renewed. It
 * stops taking items once they (and the items it dead-letters) reach maxBytes, though it always
 * takes one: the reply stays under the client's bound on a reply's size whatever the items' size.
 * Returns { {token, item, attempt, ...}, {deadItem, ...}, pendingLength, leaseCount,
 * msUntilNextExpiry, markerExists, keysExisting, seedId, seedTotal, seedPushed } (the seed marker's
 * fields false when it has none: a worker waiting for its seed reads it with the claim that found
 * the queue empty, in the same step), traceContexts (with traced = 1 and a `traces` hash: the
 * claimed items' values in it, nil where an item has none, in the order of the claimed; else
 * empty). Each structure is written with one call per batch, not per
 * item: that is what makes batches cheap.
 */
export const CLAIM = luaScript({
  name: 'claim',
  keys: ['pending', 'processing', 'leases', 'dead', 'deadRecords', 'done', 'seed', 'traces'],
  args: ['owner', 'first', 'max', 'maxBytes', 'leaseMs', 'maxAttempts', 'recover', 'traced'],
  body: `${NOW}${ENTRY}${STATE}${DEAD_LETTER}
local next, limit, deadline, attempts = tonumber(first), tonumber(max), now + tonumber(leaseMs), tonumber(maxAttempts)
local claimed, deadItems, entries, deadlines = {}, {}, {}, {}
local budget, bytes = tonumber(maxBytes), 0
-- Whether the reply takes one more item: the first always, then while under the byte budget.
local function room() return bytes < budget end
local function reply()
  local nextExpiry = -1
  local soonest = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
  if soonest[2] then nextExpiry = math.max(0, tonumber(soonest[2]) - now) end
  local state = queueState()
  local marker = redis.call('HMGET', seed, 'id', 'total', 'pushed')
  local contexts = {}
  if traced == '1' and #claimed > 0 and redis.call('EXISTS', traces) == 1 then
    local items = {}
    for i = 2, #claimed, 3 do items[#items + 1] = claimed[i] end
    contexts = redis.call('HMGET', traces, unpack(items))
  end
  return { claimed, deadItems, redis.call('LLEN', pending), redis.call('ZCARD', leases), nextExpiry, state[1], state[2], marker[1], marker[2], marker[3], contexts }
end
if recover == '1' then
  local mine = {}
  for n = next, next + limit - 1 do mine[#mine + 1] = owner .. '#' .. n end
  local values = redis.call('HMGET', processing, unpack(mine))
  for i = 1, #mine do
    if values[i] then
      local attempt, item = entry(values[i])
      deadlines[#deadlines + 1] = deadline
      deadlines[#deadlines + 1] = mine[i]
      claimed[#claimed + 1] = mine[i]
      claimed[#claimed + 1] = item
      claimed[#claimed + 1] = attempt
    end
  end
  if #claimed > 0 then
    redis.call('ZADD', leases, unpack(deadlines))
    return reply()
  end
end
local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, limit)
local reclaim = {}
if #expired > 0 then
  local values = redis.call('HMGET', processing, unpack(expired))
  local taken = {}
  for i = 1, #expired do
    if not room() then break end
    taken[#taken + 1] = expired[i]
    local attempt, item = entry(values[i])
    bytes = bytes + #item
    attempt = attempt + 1
    if attempt > attempts then
      deadLetter(item, attempt - 1, 'delivered ' .. (attempt - 1) .. ' times without an answer (its workers died, or lost their leases)')
      deadItems[#deadItems + 1] = item
    else
      reclaim[#reclaim + 1] = { item, attempt }
    end
  end
  redis.call('HDEL', processing, unpack(taken))
  redis.call('ZREM', leases, unpack(taken))
end
local function take(item, attempt)
  local token = owner .. '#' .. next
  next = next + 1
  entries[#entries + 1] = token
  entries[#entries + 1] = attempt .. '|' .. item
  deadlines[#deadlines + 1] = deadline
  deadlines[#deadlines + 1] = token
  claimed[#claimed + 1] = token
  claimed[#claimed + 1] = item
  claimed[#claimed + 1] = attempt
end
for _, taken in ipairs(reclaim) do take(taken[1], taken[2]) end
-- One item at a time, so that items past the byte budget stay where they are.
for _ = #reclaim + 1, limit do
  if not room() then break end
  local item = redis.call('LPOP', pending)
  if not item then break end
  bytes = bytes + #item
  take(item, 1)
end
if #entries > 0 then
  redis.call('HSET', processing, unpack(entries))
  redis.call('ZADD', leases, unpack(deadlines))
end
return reply()
`,
  reply: tuple(
    groupsOf(text, text, integer),
    arrayOf(text),
    integer,
    integer,
    integer,
    integer,
    integer,
    optionalText,
    optionalText,
    optionalText,
    arrayOf(optionalText),
  ),
});
