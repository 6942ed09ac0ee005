import { integer } from '../reply';
import { luaScript } from '../script';
import { ENTRY, REPLY, TOKENS } from './fragments';

/** Hands tokens back untouched: claimable at once, and the delivery does not count as an attempt. */
export const RELEASE = luaScript({
  name: 'release',
  keys: ['processing', 'leases', 'reply'],
  args: ['call', 'retry', 'replyTtl', 'tokenList'],
  body: `${ENTRY}${TOKENS}${REPLY}
if replayed() then return 0 end
for _, token in ipairs(tokens(tokenList)) do
  local value = redis.call('HGET', processing, token)
  if value then
    local attempt, item = entry(value)
    redis.call('HSET', processing, token, (attempt - 1) .. '|' .. item)
    redis.call('ZADD', leases, 0, token)
  end
end
return recorded(0)
`,
  reply: integer,
});
