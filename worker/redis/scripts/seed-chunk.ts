import { integer } from '../reply';
import { luaScript } from '../script';

/**
 * Appends one chunk and advances the marker in the same step, only if the marker still says this
 * seed has exactly `offset` items on the queue (so a rerun, a repeat after a lost connection or a
 * second seeder never adds a chunk twice), and counts the chunk in this run's own key, which
 * expires `runTtl` ms after its last chunk. With a `traceContext` (the seed traces), each item gets it
 * in the `traces` hash, which then expires `traceTtl` ms after this chunk. Returns the marker's pushed count after the call, -1
 * when another seed took over, -2 when the marker is gone (the broker lost the queue's data).
 */
export const SEED_CHUNK = luaScript({
  name: 'seed-chunk',
  keys: ['pending', 'seed', 'run', 'traces'],
  args: ['id', 'offset', 'runTtl', 'traceContext', 'traceTtl'],
  rest: 'items',
  body: `
local marker = redis.call('HMGET', seed, 'id', 'pushed')
if not marker[1] then return -2 end
if marker[1] ~= id then return -1 end
local pushed = tonumber(marker[2])
if pushed ~= tonumber(offset) then return pushed end
redis.call('RPUSH', pending, unpack(items))
redis.call('HINCRBY', seed, 'seeded', #items)
redis.call('INCRBY', run, #items)
redis.call('PEXPIRE', run, runTtl)
if traceContext ~= '' then
  local contexts = {}
  for i = 1, #items do
    contexts[#contexts + 1] = items[i]
    contexts[#contexts + 1] = traceContext
  end
  redis.call('HSET', traces, unpack(contexts))
  redis.call('PEXPIRE', traces, traceTtl)
end
return redis.call('HINCRBY', seed, 'pushed', #items)
`,
  reply: integer,
});
