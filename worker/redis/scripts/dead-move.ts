import { groupsOf, integer, optionalText, text } from '../reply';
import { luaScript } from '../script';
import { DEAD_RECORD, REPLY } from './fragments';

/**
 * Moves up to `max` of the oldest dead items to the end of the pending list, each with its record
 * dropped, in one step: an item is either still dead or pending, never both nor neither, whenever
 * the mover dies. Pending items are new items: their attempts start again at the next claim.
 * Returns { item, attempts (0 without a record), error or false, ... }; the same call repeated after
 * a lost connection returns the first run's reply instead of moving more.
 */
export const DEAD_MOVE = luaScript({
  name: 'dead-move',
  keys: ['dead', 'deadRecords', 'pending', 'reply'],
  args: ['call', 'retry', 'replyTtl', 'max'],
  body: `${REPLY}${DEAD_RECORD}
local moved = replayed()
if moved then return moved end
moved = {}
for _ = 1, tonumber(max) do
  local item = redis.call('LPOP', dead)
  if not item then break end
  local attempts, err = 0, false
  local head = redis.call('LINDEX', deadRecords, 0)
  if head then
    local a, e, itemOfRecord = record(head)
    if itemOfRecord == item then
      redis.call('LPOP', deadRecords)
      attempts, err = a, e
    end
  end
  redis.call('RPUSH', pending, item)
  moved[#moved + 1] = item
  moved[#moved + 1] = attempts
  moved[#moved + 1] = err
end
return recorded(moved)
`,
  reply: groupsOf(text, integer, optionalText),
});
