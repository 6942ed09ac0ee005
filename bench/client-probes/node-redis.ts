import { createClient } from '@redis/client';
import { PIPELINE, runProbe, timedDrain } from './probe';

/** As the worker configures it: RESP2, no reconnects or offline queue of its own, no CLIENT SETINFO. */
function newClient(url: string) {
  return createClient({
    url,
    RESP: 2,
    disableClientInfo: true,
    disableOfflineQueue: true,
    socket: { reconnectStrategy: false },
  });
}

async function withClient<T>(url: string, use: (client: ReturnType<typeof newClient>) => Promise<T>): Promise<T> {
  const client = newClient(url);
  // Failures reach the caller as rejected commands; the event would otherwise be thrown.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

runProbe({
  connect: (url) =>
    withClient(url, async (client) => {
      await client.ping();
    }),
  takeOne: (url, source, target) =>
    withClient(url, async (client) => {
      const item = await client.lMove(source, target, 'LEFT', 'RIGHT');
      if (item === null) throw new Error(`list ${source} is empty`);
      return item;
    }),
  drain: (url, source, target) =>
    withClient(url, (client) =>
      timedDrain(PIPELINE, async () => {
        const pipeline = client.multi();
        for (let i = 0; i < PIPELINE; i++) pipeline.lMove(source, target, 'LEFT', 'RIGHT');
        // node-redis types the replies so that nil is not among them; an empty list answers LMOVE with null.
        const replies: readonly unknown[] = await pipeline.execAsPipeline();
        return replies.filter((reply) => reply !== null).length;
      }),
    ),
});
