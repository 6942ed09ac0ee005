import { deleteRedisQueue, REDIS_URL } from '../brokers';
import { entryOf, type BenchCase, type Entry } from '../entry';
import { interleave } from '../measure';
import { deleteLmoveLists, drainWithTwoWorkers, fillLmoveSource, lmoveBenchmark, seedDrainQueue } from '../redis-drain';

const LMOVE = '`redis-benchmark -c 2 -q LMOVE`, one round trip per item';

/**
 * Two drain workers as whole processes, spawn to exit, against LMOVE from two connections on
 * as many items. With `steadyId`, also the workers' rate once started (10 % to 90 % of the items)
 * against the same rounds' LMOVE.
 */
function drainRedis(count: number, id: string, goal: number, steadyId?: string): BenchCase {
  return {
    title: `draining ${count} items from Redis with two workers`,
    async run(rounds) {
      const steadyRates: number[] = [];
      const ours = async (round: number) => {
        const queue = await seedDrainQueue(REDIS_URL, count);
        try {
          const run = await drainWithTwoWorkers(REDIS_URL, queue, count);
          steadyRates[round] = run.steadyRate;
          return run.wholeRate;
        } finally {
          await deleteRedisQueue(queue);
        }
      };
      const baseline = async () => {
        const lists = await fillLmoveSource(REDIS_URL, count);
        try {
          return await lmoveBenchmark(REDIS_URL, lists, count);
        } finally {
          await deleteLmoveLists(REDIS_URL, lists);
        }
      };
      const [wholeRates, lmoveRates] = await interleave(rounds, [ours, baseline]);
      const entries: Entry[] = [
        entryOf(
          {
            id,
            name: `Draining Redis, ${count.toLocaleString('en-US')} items, 2 workers, no work, whole processes`,
            unit: 'items/s',
            baselineName: LMOVE,
            goal,
          },
          wholeRates,
          lmoveRates,
        ),
      ];
      if (steadyId) {
        const name = `Draining Redis, ${count.toLocaleString('en-US')} items, 2 workers: steady state (10 % to 90 % of the items)`;
        entries.push(
          entryOf({ id: steadyId, name, unit: 'items/s', baselineName: LMOVE, goal: null }, steadyRates, lmoveRates),
        );
      }
      return entries;
    },
  };
}

export const drainRedis20k = drainRedis(20_000, 'drain-redis-20k', 1.0);
export const drainRedis100k = drainRedis(100_000, 'drain-redis-100k', 2.0, 'drain-redis-steady');
