import { arrayOf, text } from '../reply';
import { luaScript } from '../script';
import { NOW, TOKENS } from './fragments';

/** Extends the leases this worker still holds. Returns the tokens it no longer held. Repeating it is harmless. */
export const RENEW = luaScript({
  name: 'renew',
  keys: ['leases'],
  args: ['leaseMs', 'tokenList'],
  body: `${NOW}${TOKENS}
local deadline = now + tonumber(leaseMs)
local held = tokens(tokenList)
local scores = redis.call('ZMSCORE', leases, unpack(held))
local renewed, lost = {}, {}
for i, token in ipairs(held) do
  if scores[i] then
    renewed[#renewed + 1] = deadline
    renewed[#renewed + 1] = token
  else
    lost[#lost + 1] = token
  end
end
if #renewed > 0 then redis.call('ZADD', leases, 'XX', unpack(renewed)) end
return lost
`,
  reply: arrayOf(text),
});
