import Redis from 'ioredis';
import { PIPELINE, runProbe, timedDrain } from './probe';

/**
 * ioredis, and iovalkey, its fork with the same API (bench/cases/client-libraries.ts bundles this
 * probe with it in ioredis' place). Configured as the worker would: no reconnects, no offline
 * queue, no retried commands.
 */
async function withClient<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
  });
  // Failures reach the caller as rejected commands; the event would otherwise be logged.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

runProbe({
  connect: (url) =>
    withClient(url, async (client) => {
      await client.ping();
    }),
  takeOne: (url, source, target) =>
    withClient(url, async (client) => {
      // ioredis types LMOVE's answer as a string; it is null when the list is empty.
      const item = (await client.lmove(source, target, 'LEFT', 'RIGHT')) as string | null;
      if (item === null) throw new Error(`list ${source} is empty`);
      return item;
    }),
  drain: (url, source, target) =>
    withClient(url, (client) =>
      timedDrain(PIPELINE, async () => {
        const pipeline = client.pipeline();
        for (let i = 0; i < PIPELINE; i++) pipeline.lmove(source, target, 'LEFT', 'RIGHT');
        const replies = (await pipeline.exec()) ?? [];
        for (const [error] of replies) if (error) throw error;
        return replies.filter(([, reply]) => reply !== null).length;
      }),
    ),
});
