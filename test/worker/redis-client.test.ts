import { type Socket, createServer } from 'node:net';
import { ErrorReply } from '../../worker/redis/node-redis';
import { MAX_REPLY_BYTES, REPLY_TIMEOUT_MS, ReplyTimeoutError, ReplyTooLargeError } from '../../worker/broker-limits';
import { NotRedisError, RedisLink } from '../../worker/redis/client';
import { UnexpectedReplyError, arrayOf, integer, text, tuple } from '../../worker/redis/reply';
import { MalformedReplyError } from '../../worker/redis/reply-guard';
import { evalScript, luaScript } from '../../worker/redis/script';
import { CLAIM } from '../../worker/redis/scripts/claim';
import { queueKeys } from '../../contract';
import { REDIS } from './brokers';
import { uniqueQueue } from './helpers';

const open = (port = REDIS.port, replyTimeoutMs = REPLY_TIMEOUT_MS) =>
  RedisLink.open({ host: REDIS.host, port, database: 0, replyTimeoutMs }, new AbortController().signal);

/** The worker's Redis connection (node-redis, bounded) against the real Redis (or Valkey) of the generation (./brokers). */
describe('RedisLink against Redis', () => {
  let link: RedisLink;
  const key = uniqueQueue('link');

  beforeAll(async () => {
    link = await open();
  });

  afterAll(async () => {
    await link.send(['DEL', key]);
    await link.close();
  });

  test('replies of every kind, in the order the pipelined commands were sent', async () => {
    const value = 'äpfel und birnen\r\nzwei zeilen';
    const replies = await Promise.all([
      link.send(['SET', key, value]),
      link.send(['GET', key]),
      link.send(['EVAL', "return { 1, 'two', { 3, false }, redis.call('GET', KEYS[1]) }", 1, key]),
      link.send(['GET', `${key}:missing`]),
      link.send(['STRLEN', key]),
    ]);
    expect(replies).toEqual(['OK', value, [1, 'two', [3, null], value], null, Buffer.byteLength(value)]);
  });

  test('a reply larger than a socket read, and many small ones, arrive whole', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    await link.send(['SET', key, big]);
    const [value, items] = await Promise.all([
      link.send(['GET', key]),
      link.send(['EVAL', "local t = {} for i = 1, 20000 do t[i] = 'item-' .. i end return t", 0]),
    ]);
    expect(value).toBe(big);
    expect(items).toHaveLength(20000);
    expect((items as string[])[19999]).toBe('item-20000');
  });

  test('an error reply rejects its own command only', async () => {
    const [failed, next] = await Promise.allSettled([link.send(['EVALSHA', '0'.repeat(40), 0]), link.send(['PING'])]);
    expect(failed.status === 'rejected' && failed.reason).toBeInstanceOf(ErrorReply);
    expect(failed.status === 'rejected' && (failed.reason as Error).message).toMatch(/^NOSCRIPT/);
    expect(next).toEqual({ status: 'fulfilled', value: 'PONG' });
    expect(link.isReady).toBe(true);
  });

  test('a script runs by its SHA1, its source sent once, and its reply comes back checked', async () => {
    const script = luaScript({
      name: 'pair',
      keys: ['list'],
      args: ['n'],
      body: `return { list, tonumber(n) * 2 }`,
      reply: tuple(text, integer),
    });
    expect(await evalScript(link, script, { keys: { list: key }, args: { n: 21 } })).toEqual([key, 42]);
    expect(await evalScript(link, script, { keys: { list: key }, args: { n: 1 } })).toEqual([key, 2]);
  });

  test('a claim stops taking items at its byte budget, though it always takes one', async () => {
    const keys = queueKeys(uniqueQueue('budget'));
    await link.send(['RPUSH', keys.pending, 'a'.repeat(10), 'b'.repeat(10), 'c'.repeat(10)]);
    const claim = (first: number, maxBytes: number) =>
      evalScript(link, CLAIM, {
        keys: {
          pending: keys.pending,
          processing: keys.processing,
          leases: keys.leases,
          dead: keys.dead,
          deadRecords: keys.deadRecords,
          done: keys.done,
          seed: keys.seed,
          traces: keys.traces,
        },
        args: { owner: 'test', first, max: 3, maxBytes, leaseMs: 60_000, maxAttempts: 3, recover: 0, traced: 0 },
      });
    const [claimed, , pending] = await claim(1, 15);
    expect(claimed.map(([, item]) => item)).toEqual(['a'.repeat(10), 'b'.repeat(10)]);
    expect(pending).toBe(1);
    const [one] = await claim(4, 1);
    expect(one.map(([, item]) => item)).toEqual(['c'.repeat(10)]);
    await link.send(['DEL', keys.pending, keys.processing, keys.leases]);
  });

  test('fails for a script reply of the wrong shape, and gives up the connection', async () => {
    const other = await open();
    const script = luaScript({
      name: 'liar',
      keys: [],
      args: [],
      body: `return redis.status_reply('OK')`,
      reply: arrayOf(text),
    });
    const failure = evalScript(other, script, { keys: {}, args: {} });
    await expect(failure).rejects.toThrow(UnexpectedReplyError);
    await expect(failure).rejects.toThrow(
      `the liar script's reply was "OK", expected an array: not a Redis running the worker's scripts`,
    );
    expect(other.isReady).toBe(false);
    await expect(other.send(['PING'])).rejects.toThrow(UnexpectedReplyError);
  });
});

/** A peer on loopback that answers PING with PONG and every other command with `answer(socket)`. */
async function peer(answer: (socket: Socket) => void): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => (chunk.includes('PING') ? socket.write('+PONG\r\n') : answer(socket)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('RedisLink against peers that are not Redis', () => {
  test("a command that cannot even be written (the peer reads nothing) fails at the link's deadline, not at node-redis' own 5 s", async () => {
    const deaf = await peer((socket) => socket.pause());
    // The peer stops reading once connected: the first, large command fills the socket, the next waits to be written.
    const server = await open(deaf.port, 7000);
    try {
      const started = Date.now();
      const large = server.send(['SET', 'k', 'x'.repeat(64 * 1024 * 1024)]);
      const queued = server.send(['PING']);
      await expect(queued).rejects.toThrow(ReplyTimeoutError);
      await expect(large).rejects.toThrow(ReplyTimeoutError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(6900);
    } finally {
      await deaf.stop();
    }
  }, 20_000);

  test('fails to open when PING is answered with anything but PONG', async () => {
    const server = createServer((socket) => socket.once('data', () => socket.end('+OK\r\n')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await expect(open((server.address() as { port: number }).port)).rejects.toThrow(NotRedisError);
    await new Promise((resolve) => server.close(resolve));
  });

  /** Fails the first command on a fresh connection to a peer answering it with `answer`; returns what failed it. */
  async function failure(answer: (socket: Socket) => void, replyTimeoutMs = 1000): Promise<Error | undefined> {
    const server = await peer(answer);
    // A short command deadline by default: a reply that never completes ends there.
    const link = await open(server.port, replyTimeoutMs);
    await link.send(['GET', 'x']).catch(() => undefined);
    await server.stop();
    expect(link.isReady).toBe(false);
    return link.failure;
  }

  test('fails a bulk string announced at 2 GB whose bytes trickle, at the command deadline', async () => {
    const error = await failure((socket) => socket.write('$2000000000\r\nxxxx'));
    expect(error).toBeInstanceOf(ReplyTimeoutError);
  });

  test(`fails a reply that runs past MAX_REPLY_BYTES (${MAX_REPLY_BYTES / 2 ** 20} MiB): an endless line`, async () => {
    const error = await failure((socket) => {
      socket.write('+');
      const block = Buffer.alloc(1024 * 1024, 'x');
      const more = () => {
        while (!socket.destroyed && socket.write(block));
      };
      socket.on('drain', more);
      more();
    }, REPLY_TIMEOUT_MS);
    expect(error).toBeInstanceOf(ReplyTooLargeError);
  });

  test('fails bytes that are not RESP', async () => {
    const error = await failure((socket) => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
    expect(error).toBeInstanceOf(MalformedReplyError);
    expect(error?.message).toMatch(/^a reply Redis could not have sent \(/);
  });

  test('fails a length that is not a number, at the command deadline at the latest', async () => {
    const error = await failure((socket) => socket.write('$abc\r\n'));
    expect(error).toBeInstanceOf(Error);
  });

  test('fails a reply that no command waits for', async () => {
    const twice = await peer((socket) => socket.write(':1\r\n:2\r\n'));
    const link = await open(twice.port);
    await link.send(['GET', 'x']).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(link.failure?.message).toBe('a reply Redis could not have sent (more replies than commands)');
    await twice.stop();
  });
});
