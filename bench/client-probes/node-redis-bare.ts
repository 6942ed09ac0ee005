// node-redis as its client module alone, constructed with `new`: RedisClient.create (and
// createClient) first builds a class with a method for every Redis command, which costs a process
// about 50 ms of CPU; `sendCommand` needs none of them.
import RedisClient from '@redis/client/dist/lib/client';
import type { RedisFunctions, RedisModules, RedisScripts } from '@redis/client/dist/lib/RESP/types';
import { PIPELINE, runProbe, timedDrain } from './probe';

type Client = RedisClient<RedisModules, RedisFunctions, RedisScripts, 2, object>;

async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client: Client = new RedisClient({
    url,
    RESP: 2,
    disableClientInfo: true,
    disableOfflineQueue: true,
    socket: { reconnectStrategy: false },
  });
  // Failures reach the caller as rejected commands; the event would otherwise be thrown.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

const LMOVE = (source: string, target: string) => ['LMOVE', source, target, 'LEFT', 'RIGHT'];

runProbe({
  connect: (url) =>
    withClient(url, async (client) => {
      await client.sendCommand(['PING']);
    }),
  takeOne: (url, source, target) =>
    withClient(url, async (client) => {
      // LMOVE answers the moved item, or nil when the list is empty.
      const item = await client.sendCommand<string | null>(LMOVE(source, target));
      if (typeof item !== 'string') throw new Error(`list ${source} is empty`);
      return item;
    }),
  drain: (url, source, target) =>
    withClient(url, (client) =>
      // Commands sent in one turn of the event loop go out together: a pipeline of 64.
      timedDrain(PIPELINE, async () => {
        const replies = await Promise.all(
          Array.from({ length: PIPELINE }, () => client.sendCommand<string | null>(LMOVE(source, target))),
        );
        return replies.filter((reply) => reply !== null).length;
      }),
    ),
});
