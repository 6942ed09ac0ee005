import { integer, optionalText, tuple } from '../reply';
import { luaScript } from '../script';
import { NOW } from './fragments';

/**
 * Returns { keysExisting, pending, inProgress, done, dead, seeded, seedId, seedTotal, seedPushed,
 * expiredLeases }: expired or released leases count as pending, since any worker may claim them
 * now, and once more on their own. No key at all means the queue was never seeded nor worked on.
 */
export const STATUS = luaScript({
  name: 'status',
  keys: ['pending', 'processing', 'leases', 'done', 'dead', 'seed'],
  args: [],
  body: `${NOW}
local waiting = redis.call('ZCOUNT', leases, '-inf', now)
local leased = redis.call('ZCARD', leases) - waiting
local marker = redis.call('HMGET', seed, 'seeded', 'id', 'total', 'pushed')
return { redis.call('EXISTS', pending, processing, leases, done, dead, seed), redis.call('LLEN', pending) + waiting, leased,
  tonumber(redis.call('GET', done) or '0'), redis.call('LLEN', dead), marker[1] or false, marker[2] or false, marker[3] or false, marker[4] or false, waiting }
`,
  reply: tuple(
    integer,
    integer,
    integer,
    integer,
    integer,
    optionalText,
    optionalText,
    optionalText,
    optionalText,
    integer,
  ),
});
