import { AMQP_URL, declareClassicQueue, deleteAmqpQueues, expectAmqpMessages, freshQueue } from '../brokers';
import { entryOf, type BenchCase } from '../entry';
import { interleave, timed } from '../measure';
import { workQueue } from '../worker-cli';

const ITEM = 'item-0';

/** Fails unless a consumer's output shows it got the item. */
function expectItemIn(output: string, who: string): void {
  if (!output.includes(ITEM)) throw new Error(`${who} did not get ${ITEM}: ${output.slice(-500)}`);
}

/**
 * A coarse-pattern pod's life: a `WORKER_MODE=single` worker takes the one item on a RabbitMQ
 * queue, processes it, acks and exits. Against the Node.js floor (`node -e ''`) and against the
 * tutorial's `amqp-consume -c 1 cat`.
 */
export const oneItemPod: BenchCase = {
  title: 'one-item pod on RabbitMQ',
  async run(rounds) {
    const ours = async () => {
      const queue = freshQueue('single');
      try {
        await workQueue(['seed', ITEM], { BROKER_URL: AMQP_URL, QUEUE: queue });
        const run = await workQueue(['work'], {
          BROKER_URL: AMQP_URL,
          QUEUE: queue,
          WORKER_MODE: 'single',
          WORK_SECONDS: '0',
        });
        expectItemIn(run.stdout, 'the worker');
        await expectAmqpMessages(queue, 0);
        return run.seconds;
      } finally {
        await deleteAmqpQueues(queue);
      }
    };
    const nodeFloor = async () => (await timed(process.execPath, ['-e', ''])).seconds;
    const amqpConsume = async () => {
      const queue = freshQueue('single-amqp-consume');
      try {
        await declareClassicQueue(queue);
        await timed('amqp-publish', [`--url=${AMQP_URL}`, '-r', queue, '-p', '-b', ITEM]);
        const run = await timed('amqp-consume', [`--url=${AMQP_URL}`, '-q', queue, '-c', '1', 'cat']);
        expectItemIn(run.stdout, 'amqp-consume');
        await expectAmqpMessages(queue, 0);
        return run.seconds;
      } finally {
        await deleteAmqpQueues(queue);
      }
    };
    const [oursSeconds, nodeSeconds, consumeSeconds] = await interleave(rounds, [ours, nodeFloor, amqpConsume]);
    const name = 'One-item pod (`WORKER_MODE=single`, RabbitMQ), process start to exit';
    return [
      entryOf(
        { id: 'one-item-pod-vs-node', name, unit: 's', baselineName: "`node -e ''`, the Node.js floor", goal: 0.62 },
        oursSeconds,
        nodeSeconds,
      ),
      entryOf(
        { id: 'one-item-pod-vs-amqp-consume', name, unit: 's', baselineName: '`amqp-consume -c 1 cat`', goal: null },
        oursSeconds,
        consumeSeconds,
      ),
    ];
  },
};
