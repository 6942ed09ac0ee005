import { deleteRedisQueue, expectListLength, freshQueue, REDIS_URL, withRedis } from '../brokers';
import { entryOf, type BenchCase } from '../entry';
import { interleave, timed } from '../measure';
import { items, itemsFile } from '../scratch';
import { workQueue } from '../worker-cli';

const COUNT = 100_000;

export const seedRedis: BenchCase = {
  title: `seeding Redis with ${COUNT} items`,
  async run(rounds) {
    const list = items(COUNT);
    const file = itemsFile(list);
    const ours = async () => {
      const queue = freshQueue('seed-redis');
      try {
        const run = await workQueue(['seed'], { BROKER_URL: REDIS_URL, QUEUE: queue, ITEMS_FILE: file });
        await withRedis((client) => expectListLength(client, queue, COUNT));
        return COUNT / run.seconds;
      } finally {
        await deleteRedisQueue(queue);
      }
    };
    const baseline = async () => {
      const queue = freshQueue('seed-redis-cli');
      const input = list.map((item) => `RPUSH ${queue} ${item}\n`).join('');
      try {
        const run = await timed('redis-cli', ['-u', REDIS_URL], { input });
        await withRedis((client) => expectListLength(client, queue, COUNT));
        return COUNT / run.seconds;
      } finally {
        await deleteRedisQueue(queue);
      }
    };
    const [oursRates, baselineRates] = await interleave(rounds, [ours, baseline]);
    return [
      entryOf(
        {
          id: 'seed-redis',
          name: `Seeding Redis, ${COUNT.toLocaleString('en-US')} items, whole process`,
          unit: 'items/s',
          baselineName: '`redis-cli` fed RPUSH lines through a pipe',
          goal: 10,
        },
        oursRates,
        baselineRates,
      ),
    ];
  },
};
