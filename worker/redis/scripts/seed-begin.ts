import { either, integer, oneOf, text, tuple } from '../reply';
import { luaScript } from '../script';

/**
 * Decides where a seed run starts. A new marker is written when there is none, when --force is
 * given, or when the previous seed (of other items) finished. Returns { 'fresh' } or
 * { 'resume', pushed } or { 'conflict', id, total, pushed }.
 */
export const SEED_BEGIN = luaScript({
  name: 'seed-begin',
  keys: ['seed'],
  args: ['id', 'total', 'force'],
  body: `
local marker = redis.call('HMGET', seed, 'id', 'total', 'pushed')
local markerId, markerTotal, markerPushed = marker[1], tonumber(marker[2]), tonumber(marker[3])
if force == '1' or not markerId or (markerId ~= id and markerPushed == markerTotal) then
  redis.call('HSET', seed, 'id', id, 'total', total, 'pushed', 0)
  return { 'fresh' }
end
if markerId == id then return { 'resume', markerPushed } end
return { 'conflict', markerId, markerTotal, markerPushed }
`,
  reply: either<['fresh'] | ['resume', number] | ['conflict', string, number, number]>(
    tuple(oneOf('fresh')),
    tuple(oneOf('resume'), integer),
    tuple(oneOf('conflict'), text, integer, integer),
  ),
});
