import { oneOf } from '../reply';
import { luaScript } from '../script';
import { DEAD_LETTER, ENTRY, REPLY } from './fragments';

/**
 * The handler failed: dead-letters the item when its attempts are used up (with its record: the
 * attempts and `error`), else makes it claimable again at once. Returns 'dead', 'retry' or 'lost' (no longer this worker's).
 */
export const FAIL = luaScript({
  name: 'fail',
  keys: ['processing', 'leases', 'dead', 'deadRecords', 'reply'],
  args: ['call', 'retry', 'replyTtl', 'maxAttempts', 'token', 'error'],
  body: `${ENTRY}${REPLY}${DEAD_LETTER}
local outcome = replayed()
if outcome then return outcome end
local value = redis.call('HGET', processing, token)
if not value then return recorded('lost') end
local attempt, item = entry(value)
if attempt >= tonumber(maxAttempts) then
  deadLetter(item, attempt, error)
  redis.call('HDEL', processing, token)
  redis.call('ZREM', leases, token)
  return recorded('dead')
end
redis.call('ZADD', leases, 0, token)
return recorded('retry')
`,
  reply: oneOf('dead', 'retry', 'lost'),
});
