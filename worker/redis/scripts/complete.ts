import { arrayOf, integer, text, tuple } from '../reply';
import { luaScript } from '../script';
import { REPLY, STATE, TOKENS } from './fragments';

/**
 * Completes the tokens this worker still holds and counts them in `done`. Returns { {lost
 * token, ...}, markerExists, keysExisting }: the tokens it no longer held, and the queue's state.
 */
export const COMPLETE = luaScript({
  name: 'complete',
  keys: ['pending', 'processing', 'leases', 'done', 'dead', 'seed', 'reply'],
  args: ['call', 'retry', 'replyTtl', 'tokenList'],
  body: `${TOKENS}${REPLY}${STATE}
local lost = replayed()
if not lost then
  local mine = {}
  lost = {}
  for _, token in ipairs(tokens(tokenList)) do
    if redis.call('HDEL', processing, token) == 1 then mine[#mine + 1] = token else lost[#lost + 1] = token end
  end
  if #mine > 0 then
    redis.call('ZREM', leases, unpack(mine))
    redis.call('INCRBY', done, #mine)
  end
  recorded(lost)
end
local state = queueState()
return { lost, state[1], state[2] }
`,
  reply: tuple(arrayOf(text), integer, integer),
});
