import { AMQP_URL, declareClassicQueue, deleteAmqpQueues, expectAmqpMessages, freshQueue } from '../brokers';
import { entryOf, type BenchCase } from '../entry';
import { interleave, secondsSince, timed } from '../measure';
import { items, itemsFile } from '../scratch';
import { workQueue } from '../worker-cli';

const COUNT = 20_000;
/** One process per item is slow: a few hundred items give its rate. */
const BASELINE_COUNT = 300;

export const seedAmqp: BenchCase = {
  title: `seeding RabbitMQ with ${COUNT} items`,
  async run(rounds) {
    const file = itemsFile(items(COUNT));
    const ours = async () => {
      const queue = freshQueue('seed-amqp');
      try {
        const run = await workQueue(['seed'], { BROKER_URL: AMQP_URL, QUEUE: queue, ITEMS_FILE: file });
        await expectAmqpMessages(queue, COUNT);
        return COUNT / run.seconds;
      } finally {
        await deleteAmqpQueues(queue);
      }
    };
    const baseline = async () => {
      const queue = freshQueue('seed-amqp-publish');
      try {
        await declareClassicQueue(queue);
        const started = process.hrtime.bigint();
        for (const item of items(BASELINE_COUNT))
          await timed('amqp-publish', [`--url=${AMQP_URL}`, '-r', queue, '-p', '-b', item]);
        const seconds = secondsSince(started);
        await expectAmqpMessages(queue, BASELINE_COUNT);
        return BASELINE_COUNT / seconds;
      } finally {
        await deleteAmqpQueues(queue);
      }
    };
    const [oursRates, baselineRates] = await interleave(rounds, [ours, baseline]);
    return [
      entryOf(
        {
          id: 'seed-amqp',
          name: `Seeding RabbitMQ, ${COUNT.toLocaleString('en-US')} items (baseline on ${BASELINE_COUNT})`,
          unit: 'items/s',
          baselineName: '`amqp-publish`, one process per item',
          goal: 100,
        },
        oursRates,
        baselineRates,
      ),
    ];
  },
};
