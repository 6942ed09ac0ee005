import { queueKeys } from '../../contract';
import { deleteRedisQueue, expectListLength, freshQueue, REDIS_URL, withRedis } from '../brokers';
import { entryOf, type BenchCase } from '../entry';
import { interleave, secondsSince } from '../measure';
import { workQueue } from '../worker-cli';

const MiB = 2 ** 20;
/** The documented largest item (MAX_ITEM_BYTES) against items 16 times larger, the same bytes in all. */
const SMALL = { bytes: 512 * 1024, count: 256 };
const LARGE = { bytes: 8 * MiB, count: 16 };
/** Items pushed per RPUSH, so that no command carries more than this. */
const PUSH_BYTES = 8 * MiB;

/** `count` distinct items of exactly `bytes` bytes: the index, then filler. */
function largeItems(count: number, bytes: number): string[] {
  return Array.from({ length: count }, (_, i) => `${i}:`.padEnd(bytes, 'x'));
}

/**
 * A queue holding the items, pushed with the client as an external producer would (not timed):
 * `seed` refuses items over MAX_ITEM_BYTES, and a queue without SEED_ID is done when empty.
 */
async function pushedQueue(list: readonly string[], bytes: number): Promise<string> {
  const queue = freshQueue(`drain-large-${bytes}`);
  const chunk = Math.max(1, Math.floor(PUSH_BYTES / bytes));
  await withRedis(async (client) => {
    for (let i = 0; i < list.length; i += chunk) await client.rPush(queue, list.slice(i, i + chunk));
    await expectListLength(client, queue, list.length);
  });
  return queue;
}

/**
 * Two `WORKER_MODE=drain` workers without simulated work, as whole processes; returns the seconds
 * from spawning both until both exited. Their `Processing <item>` lines (the item itself, megabytes)
 * go to /dev/null; the queue's `done` count shows that every item was processed, and nothing may be
 * left pending, leased or dead.
 */
async function drainSeconds(queue: string, count: number): Promise<number> {
  const env = { BROKER_URL: REDIS_URL, QUEUE: queue, WORKER_MODE: 'drain', WORK_SECONDS: '0' };
  const started = process.hrtime.bigint();
  await Promise.all([1, 2].map(() => workQueue(['work'], env, { discardStdout: true })));
  const seconds = secondsSince(started);
  await withRedis(async (client) => {
    const { pending, processing, leases, dead, done } = queueKeys(queue);
    const processed = Number(await client.get(done));
    if (processed !== count) throw new Error(`the workers counted ${processed} items done of the ${count} on ${queue}`);
    const left = await client.exists([pending, processing, leases, dead]);
    if (left !== 0)
      throw new Error(`the drain of ${queue} left ${left} of its pending, processing, leases and dead keys behind`);
  });
  return seconds;
}

/**
 * Two drain workers on 8 MiB items against the same on 512 KiB items, the same bytes in all,
 * whole processes: the drain's time grows with the bytes, not faster (a reply that is re-read from
 * its start on every read would make the large items several times slower per byte).
 */
export const drainLargeItems: BenchCase = {
  title: `draining ${LARGE.count} items of 8 MiB and ${SMALL.count} of 512 KiB from Redis`,
  async run(rounds) {
    const mibPerSecond = (size: typeof SMALL) => {
      const list = largeItems(size.count, size.bytes);
      return async () => {
        const queue = await pushedQueue(list, size.bytes);
        try {
          return (size.count * size.bytes) / MiB / (await drainSeconds(queue, size.count));
        } finally {
          await deleteRedisQueue(queue);
        }
      };
    };
    const [large, small] = await interleave(rounds, [mibPerSecond(LARGE), mibPerSecond(SMALL)]);
    const total = (LARGE.bytes * LARGE.count) / MiB;
    return [
      entryOf(
        {
          id: 'drain-redis-8mib-items',
          name: `Draining Redis, ${LARGE.count} items of 8 MiB (${total} MiB), 2 workers, no work, whole processes`,
          unit: 'MiB/s',
          baselineName: `the same drain of ${SMALL.count} items of 512 KiB (${total} MiB)`,
          goal: 0.5,
        },
        large,
        small,
      ),
    ];
  },
};
