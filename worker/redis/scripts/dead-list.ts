import { arrayOf, integer, text, tuple } from '../reply';
import { luaScript } from '../script';

/**
 * The first `limit` dead items and the first `limit` records (no more can match them: the records
 * are a subsequence of the dead list), and the dead list's length, read in one step.
 * Returns { length, {item, ...}, {record, ...} }.
 */
export const DEAD_LIST = luaScript({
  name: 'dead-list',
  keys: ['dead', 'deadRecords'],
  args: ['limit'],
  body: `
local last = tonumber(limit) - 1
return { redis.call('LLEN', dead), redis.call('LRANGE', dead, 0, last), redis.call('LRANGE', deadRecords, 0, last) }
`,
  reply: tuple(integer, arrayOf(text), arrayOf(text)),
});
