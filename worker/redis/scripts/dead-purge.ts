import { integer } from '../reply';
import { luaScript } from '../script';

/** Deletes the dead list and its records in one step; returns how many items it held. */
export const DEAD_PURGE = luaScript({
  name: 'dead-purge',
  keys: ['dead', 'deadRecords'],
  args: [],
  body: `
local length = redis.call('LLEN', dead)
redis.call('DEL', dead, deadRecords)
return length
`,
  reply: integer,
});
