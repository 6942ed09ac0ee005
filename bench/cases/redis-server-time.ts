import { deleteRedisQueue, serverCpuSeconds, withRedis } from '../brokers';
import { entryOf, significant, type BenchCase } from '../entry';
import { interleave } from '../measure';
import { PrivateRedis } from '../private-redis';
import { deleteLmoveLists, drainWithTwoWorkers, fillLmoveSource, lmoveBenchmark, seedDrainQueue } from '../redis-drain';

const COUNT = 100_000;

/** Microseconds of the server's CPU per item that `run` costs, by INFO cpu before and after. */
async function serverMicrosecondsPerItem(url: string, run: () => Promise<unknown>): Promise<number> {
  return withRedis(async (client) => {
    const before = await serverCpuSeconds(client);
    await run();
    const after = await serverCpuSeconds(client);
    return ((after - before) * 1e6) / COUNT;
  }, url);
}

/**
 * The server's side of a drain: how long Redis spends in the workers' commands (lease scripts,
 * completions, connection set-up) per item, on a redis-server of the bench's own so that no other
 * client is counted. 1e6 divided by it is the most items per second the server could serve.
 */
export const redisServerTime: BenchCase = {
  title: `Redis server CPU per item, draining ${COUNT} items`,
  async run(rounds) {
    const redis = await PrivateRedis.start();
    try {
      const ours = async () => {
        const queue = await seedDrainQueue(redis.url, COUNT);
        try {
          return await serverMicrosecondsPerItem(redis.url, () => drainWithTwoWorkers(redis.url, queue, COUNT));
        } finally {
          await deleteRedisQueue(queue, redis.url);
        }
      };
      const baseline = async () => {
        const lists = await fillLmoveSource(redis.url, COUNT);
        try {
          return await serverMicrosecondsPerItem(redis.url, () => lmoveBenchmark(redis.url, lists, COUNT));
        } finally {
          await deleteLmoveLists(redis.url, lists);
        }
      };
      const [oursUsec, lmoveUsec] = await interleave(rounds, [ours, baseline]);
      const entry = entryOf(
        {
          id: 'redis-server-usec-per-item',
          name: `Redis server CPU per item, draining ${COUNT.toLocaleString('en-US')} items with 2 workers (INFO cpu, main thread)`,
          unit: 'µs/item',
          baselineName: '`redis-benchmark -c 2 -q LMOVE`',
          goal: null,
        },
        oursUsec,
        lmoveUsec,
      );
      return [{ ...entry, ceiling: significant(1e6 / entry.ours) }];
    } finally {
      await redis.stop();
    }
  },
};
