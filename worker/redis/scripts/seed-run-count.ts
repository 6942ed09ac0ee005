import { integer } from '../reply';
import { luaScript } from '../script';

/**
 * Returns how many items this seed run appended (its own key, 0 before its first chunk) and
 * writes that count again with the run key's expiry. Being a write, it gives the WAIT after it a
 * replication offset past every chunk on the queue, including chunks a repeated window finds
 * there already and so does not write again.
 */
export const SEED_RUN_COUNT = luaScript({
  name: 'seed-run-count',
  keys: ['run'],
  args: ['runTtl'],
  body: `
local count = tonumber(redis.call('GET', run) or '0')
redis.call('SET', run, count, 'PX', runTtl)
return count
`,
  reply: integer,
});
