import { RedisReplyError, RespClient } from '../../worker/redis/resp-client';
import { REDIS } from './brokers';
import { uniqueQueue } from './helpers';

/** The worker's Redis client against the real Redis (or Valkey) of the generation (./brokers). */
describe('RespClient', () => {
  let client: RespClient;
  const key = uniqueQueue('resp');

  beforeAll(async () => {
    client = await RespClient.connect({ host: REDIS.host, port: REDIS.port, database: 0, connectTimeoutMs: 3000 });
  });

  afterAll(async () => {
    await client.send(['DEL', key]);
    await client.close();
  });

  test('replies of every kind, in the order the pipelined commands were sent', async () => {
    const text = 'äpfel und birnen\r\nzwei zeilen';
    const replies = await Promise.all([
      client.send(['SET', key, text]),
      client.send(['GET', key]),
      client.send(['EVAL', "return { 1, 'two', { 3, false }, redis.call('GET', KEYS[1]) }", 1, key]),
      client.send(['GET', `${key}:missing`]),
      client.send(['STRLEN', key]),
    ]);
    expect(replies).toEqual(['OK', text, [1, 'two', [3, null], text], null, Buffer.byteLength(text)]);
  });

  test('a reply larger than a socket read, and many small ones, arrive whole', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    await client.send(['SET', key, big]);
    const [value, items] = await Promise.all([
      client.send(['GET', key]),
      client.send(['EVAL', "local t = {} for i = 1, 20000 do t[i] = 'item-' .. i end return t", 0]),
    ]);
    expect(value).toBe(big);
    expect(items).toHaveLength(20000);
    expect((items as string[])[19999]).toBe('item-20000');
  });

  test('an error reply rejects its own command only', async () => {
    const [failed, next] = await Promise.allSettled([client.send(['EVALSHA', '0'.repeat(40), 0]), client.send(['PING'])]);
    expect(failed.status === 'rejected' && failed.reason).toBeInstanceOf(RedisReplyError);
    expect(failed.status === 'rejected' && (failed.reason as Error).message).toMatch(/^NOSCRIPT/);
    expect(next).toEqual({ status: 'fulfilled', value: 'PONG' });
  });
});
